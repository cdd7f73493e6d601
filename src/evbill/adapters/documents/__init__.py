"""Documents a customer receives: EN 16931 e-invoices (CII for Factur-X, UBL 2.1 in Peppol BIS 3 shape)."""
