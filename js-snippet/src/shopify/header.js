// Funnelhouse pixel for Shopify: Settings > Customer events > Add custom pixel, paste all of
// this file, fill in the two lines below, save, connect. docs/integrations/shopify.md
const FUNNELHOUSE_SITE = 'your-site-id' // the site id (python -m tracker site add ...)
const FUNNELHOUSE_URL = 'https://tracker.example' // where the tracker runs, as it serves /js/t.js
