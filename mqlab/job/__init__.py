"""The job itself: a signup, its validation, the scan, the mail, and the ledger of mails."""
