"""`provider = "…"` names → provider classes."""

from __future__ import annotations

from relay.providers.airtable import Airtable
from relay.providers.base import Provider
from relay.providers.basic import Basic
from relay.providers.contentful import Contentful
from relay.providers.ghost import Ghost
from relay.providers.github import GitHub
from relay.providers.gitlab import GitLab
from relay.providers.hmac_sha256 import HmacSha256
from relay.providers.hygraph import Hygraph
from relay.providers.kontent_ai import KontentAi
from relay.providers.netlify import Netlify
from relay.providers.none import NoAuth
from relay.providers.notion import Notion
from relay.providers.prismic import Prismic
from relay.providers.sanity import Sanity
from relay.providers.shopify import Shopify
from relay.providers.standard_webhooks import StandardWebhooks
from relay.providers.storyblok import Storyblok
from relay.providers.token import Token
from relay.providers.woocommerce import WooCommerce
from relay.providers.wp_webhooks import WPWebhooks

PROVIDERS: dict[str, type[Provider]] = {
    cls.name: cls
    for cls in (
        StandardWebhooks,
        HmacSha256,
        Token,
        Basic,
        Sanity,
        Contentful,
        Ghost,
        Storyblok,
        Hygraph,
        GitHub,
        GitLab,
        Shopify,
        WooCommerce,
        WPWebhooks,
        KontentAi,
        Netlify,
        Prismic,
        Airtable,
        Notion,
        NoAuth,
    )
}
