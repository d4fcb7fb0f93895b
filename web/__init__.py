"""The web app: unsubscribe pages, provider webhooks, health checks."""
