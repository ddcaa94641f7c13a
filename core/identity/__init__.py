"""Identity: who is signing in and acting — accounts and their one-time links, sign-in and its
throttles, the second factor, browser sessions, trusted devices, tokens and password hashes."""
