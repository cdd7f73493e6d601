"""Use cases of invoicing: profiles, drafts from recorded bills, issue under a gapless number,
payments, void and credit notes."""
