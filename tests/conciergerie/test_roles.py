from django.contrib.auth.models import Group

from conciergerie.accounts.roles import Role


def test_every_role_exists_as_a_group_after_migrations(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_declared_permissions_are_granted_to_their_role(db):
    manager = Group.objects.get(name=Role.MANAGER)
    patient = Group.objects.get(name=Role.PATIENT)

    assert manager.permissions.filter(codename="change_user").exists()
    assert not patient.permissions.filter(codename="change_user").exists()


def test_signing_up_on_the_portal_makes_a_patient(client, db, mailoutbox):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "nina.roux@example.fr",
            "password1": "une phrase de passe solide",
            "password2": "une phrase de passe solide",
        },
    )

    assert response.status_code == 302
    from conciergerie.accounts.models import User

    user = User.objects.get(email="nina.roux@example.fr")
    assert user.roles == {Role.PATIENT}
    assert not user.is_staff
    assert len(mailoutbox) == 1
