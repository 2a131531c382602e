"""Event webhooks: tenant endpoints that receive the event feed through the dispatcher."""
