"""Retention (§7): records past their period lose their personal content, except what a legal
hold keeps; each run is reported, and a dry run shows exactly what a run would do."""
