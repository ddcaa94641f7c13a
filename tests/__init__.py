"""The suite: tests by domain at this level, what they share in tests/support/."""

import pytest

# What tests share asserts too: its asserts are rewritten (explained on failure) like the tests'.
pytest.register_assert_rewrite("tests.support")
