"""The inference worker: one long-lived process that answers the studio's requests in JSON lines."""
