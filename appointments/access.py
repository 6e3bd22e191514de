"""Who may book, change, or record the outcome of an appointment.

`visible_to(user)` decides which appointments a user may ever see; these
functions decide what they may do with them. `by=None` is the service itself:
a task, or a signed link whose token stands for the patient's own click.
"""

from conciergerie.accounts.roles import Role

from .models import Appointment


def is_back_office(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.is_back_office)
    )


def manages(user, patient) -> bool:
    """The patient themselves, or one of their guardians."""
    from patients.models import Patient

    return Patient.objects.managed_by(user).filter(pk=patient.pk).exists()


def may_book_for(user, patient) -> bool:
    if user is None:
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    if is_back_office(user):
        return user.has_perm("appointments.book_appointment")
    if manages(user, patient):
        return True
    if user.has_role(Role.PARTNER):
        from patients.models import Patient

        return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()
    return False


def may_change(user, appointment: Appointment) -> bool:
    """Confirm, cancel or move: the patient's side or the concierge."""
    if user is None:
        return True
    if may_book_for(user, appointment.patient):
        return True
    return bool(
        user.is_authenticated
        and user.has_role(Role.PARTNER)
        and appointment.booked_by_id == user.pk
    )


def may_record_outcome(user, appointment: Appointment) -> bool:
    """Done or missed: the concierge, or the practitioner who saw (or waited for)
    the patient."""
    if user is None:
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    if is_back_office(user):
        return user.has_perm("appointments.record_outcome")
    practitioner_user = appointment.practitioner.user_id
    return practitioner_user is not None and practitioner_user == user.pk


def acts_online(user) -> bool:
    """Patients and partners act on their own: the notice rules bind them strictly."""
    return user is not None and not is_back_office(user)
