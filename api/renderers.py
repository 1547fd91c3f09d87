from rest_framework.renderers import JSONRenderer


class HalJsonRenderer(JSONRenderer):
    """OSDI answers in HAL+JSON."""

    media_type = "application/hal+json"
    format = "json"
