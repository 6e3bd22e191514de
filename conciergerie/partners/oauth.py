"""The token endpoint's rules for partners: allowed scopes, revoked applications.

django-oauth-toolkit asks `SCOPES_BACKEND_CLASS` which scopes an application may
request, and `OAUTH2_VALIDATOR_CLASS` whether a client may authenticate at all.

- An application of a partner organisation may ask for its allowed scopes and no
  others (`invalid_scope` otherwise); asking for none gives it all of them.
- An application without a partner profile (created by hand in the OAuth
  tables) gets the default scopes only: access is granted, never assumed.
- A revoked application, or one whose organisation or service account is
  deactivated, cannot authenticate (`invalid_client`).
"""

import hashlib

from django.core.exceptions import ObjectDoesNotExist
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings


def _profile(application):
    if application is None:
        return None
    try:
        return application.partner_profile
    except ObjectDoesNotExist:
        return None


def allowed_scopes(application) -> list[str]:
    """The scopes a token of this application may carry now."""
    profile = _profile(application)
    if profile is None:
        return list(oauth2_settings._DEFAULT_SCOPES)
    if profile.is_revoked or not profile.organisation.is_active:
        return []
    known = set(oauth2_settings._SCOPES)
    return [scope for scope in profile.allowed_scopes if scope in known]


class PartnerScopes(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return super().get_available_scopes(application, request, *args, **kwargs)
        return allowed_scopes(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if _profile(application) is None:
            return super().get_default_scopes(application, request, *args, **kwargs)
        return allowed_scopes(application)


class PartnerOAuth2Validator(OAuth2Validator):
    def authenticate_client(self, request, *args, **kwargs) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        return client_may_authenticate(request.client)

    def _load_access_token(self, token):
        # Every API call loads its token: a client-credentials token acts as its
        # application's owner (conciergerie.api.PartnerOAuth2Authentication), so
        # the owner comes in the same query instead of a second one. The checksum
        # is unique: no ORDER BY to build and run, as `first()` would add.
        token_checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        found = (
            get_access_token_model()
            .objects.select_related("application__user", "user")
            .filter(token_checksum=token_checksum)[:1]
        )
        return next(iter(found), None)


def client_may_authenticate(application) -> bool:
    owner = getattr(application, "user", None)
    if owner is not None and not owner.is_active:
        return False
    profile = _profile(application)
    if profile is None:
        return True
    return not profile.is_revoked and profile.organisation.is_active
