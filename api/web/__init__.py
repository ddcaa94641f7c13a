"""The web pages: server-rendered, on the same services as the API, for the people who review
and decide (DSLs, approvers, admins) and for staff logging from a phone."""
