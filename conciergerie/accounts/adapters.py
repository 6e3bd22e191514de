from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.models import Group
from django.utils.translation import get_language

from .roles import Role


class AccountAdapter(DefaultAccountAdapter):
    """Everyone who signs up on the portal is a patient (or a patient's guardian)."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.language = (get_language() or "fr")[:2]
        if commit:
            user.save()
            user.groups.add(Group.objects.get_or_create(name=Role.PATIENT)[0])
        return user
