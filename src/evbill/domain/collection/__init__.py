"""Getting paid: bank statements matched to invoices, SEPA direct debit, and collection (dunning)."""
