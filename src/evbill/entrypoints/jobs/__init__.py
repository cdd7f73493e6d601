"""Queued work: what ``evbill worker`` runs, job by job (see ``adapters.queue``)."""
