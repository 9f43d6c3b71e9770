"""`provider = "…"` names → provider classes."""

from __future__ import annotations

from relay.web.providers.airtable import Airtable
from relay.web.providers.base import Provider
from relay.web.providers.basic import Basic
from relay.web.providers.contentful import Contentful
from relay.web.providers.ghost import Ghost
from relay.web.providers.github import GitHub
from relay.web.providers.gitlab import GitLab
from relay.web.providers.hmac_sha256 import HmacSha256
from relay.web.providers.hygraph import Hygraph
from relay.web.providers.kontent_ai import KontentAi
from relay.web.providers.netlify import Netlify
from relay.web.providers.none import NoAuth
from relay.web.providers.notion import Notion
from relay.web.providers.prismic import Prismic
from relay.web.providers.sanity import Sanity
from relay.web.providers.shopify import Shopify
from relay.web.providers.standard_webhooks import StandardWebhooks
from relay.web.providers.storyblok import Storyblok
from relay.web.providers.token import Token
from relay.web.providers.woocommerce import WooCommerce
from relay.web.providers.wp_webhooks import WPWebhooks

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
