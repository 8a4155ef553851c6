"""The shared record of every domain: interactions (calls, chats, e-mails), the scoping mixins,
their writes (create, correct, CSV import, recordings) and recording retention."""
