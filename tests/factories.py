"""Factories of the shared kernel; each app's folder under tests/ holds its own."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import Application

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import STAFF_ROLES, Role

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        """`UserFactory(role=Role.MANAGER)`; staff roles open the back-office."""
        role = extracted or Role.PATIENT
        if not create:
            return
        obj.groups.add(Group.objects.get_or_create(name=role)[0])
        if role in STAFF_ROLES and not obj.is_staff:
            obj.is_staff = True
            obj.save(update_fields=["is_staff"])

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        """Users can sign in to the portal: their address is verified (allauth)."""
        if create and extracted is not False:
            EmailAddress.objects.get_or_create(
                user=obj, email=obj.email, defaults={"verified": True, "primary": True}
            )


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory, role=Role.MEDICAL_ADVISER)
    name = "Authenticator"
    confirmed = True


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A partner's OAuth2 client-credentials application and its service user."""

    class Meta:
        model = Application
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Partner {n}")
    user = factory.SubFactory(UserFactory, role=Role.PARTNER)
    client_type = Application.CLIENT_CONFIDENTIAL
    authorization_grant_type = Application.GRANT_CLIENT_CREDENTIALS
    client_secret = "partner-secret"  # noqa: S105
    hash_client_secret = True

    @factory.post_generation
    def partner_profile(obj, create, extracted, **kwargs):
        """The application belongs to its user's partner organisation, allowed every
        scope; `ApplicationFactory(partner_profile=False)` makes a bare client."""
        if not create or extracted is False:
            return
        from django.conf import settings

        from conciergerie.partners.models import Organisation, PartnerApplication

        organisation = Organisation.objects.filter(service_user=obj.user).first()
        if organisation is None:
            organisation = Organisation.objects.create(
                name=obj.name, kind=Organisation.Kind.CLINIC, service_user=obj.user
            )
        PartnerApplication.objects.create(
            application=obj,
            organisation=organisation,
            allowed_scopes=sorted(settings.API_SCOPES),
        )
