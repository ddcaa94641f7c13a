"""The change record: every change as a hash-chained event, the records sealed under it, the
checks that nothing was altered, signed checkpoints, and who may read it."""
