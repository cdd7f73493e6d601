"""Payment gateways: the built-in sandbox (and, later, Stripe)."""
