"""Sending runs to the workers without ever losing one: a transactional outbox (``outbox``), the broker client
(``broker``) and the relay that connects them (``relay``). The broker carries run ids only; the database is the
truth."""
