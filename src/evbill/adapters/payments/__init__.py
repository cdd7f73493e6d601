"""Payment gateways: the built-in sandbox, and Stripe (on the stripe SDK)."""
