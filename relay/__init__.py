"""Deploy-hook relay: verified CMS webhooks in, debounced Cloudflare Pages builds out."""

__version__ = "0.1.0"
