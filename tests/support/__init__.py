"""What tests share: the ground they run on, the people and records they start from, a mail
server, a browser. No test module imports another; they import from here."""
