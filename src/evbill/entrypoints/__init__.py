"""Ways into evbill: the command line (and later the API and jobs)."""
