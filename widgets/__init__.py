"""The web face: partner blocks, the embed script, tracked-link redirects with click
recording, and the webhook receiver. Arrives with the widgets issue."""
