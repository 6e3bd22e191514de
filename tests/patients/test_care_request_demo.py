"""The demo seed gives a request in every state, with timelines and messages."""

from io import StringIO

from conciergerie import demo as kernel_demo
from patients import demo
from patients.models import CarePlan, CareRequest, CareRequestMessage


def test_the_demo_has_a_request_in_every_state_and_runs_twice(db):
    kernel_demo.seed(stdout=StringIO())

    demo.seed(stdout=StringIO())
    count = CareRequest.objects.count()
    demo.seed(stdout=StringIO())

    assert CareRequest.objects.count() == count
    assert set(CareRequest.objects.values_list("state", flat=True)) == set(
        CareRequest.State.values
    )
    emergency = CareRequest.objects.get(state="emergency")
    assert emergency.red_flag_codes == ["chest_pain"]
    assert emergency.emergency_checklist.filter(checked_at__isnull=False).count() == 1
    assert emergency.tasks.filter(kind="follow_up_call").exists()
    for care_request in CareRequest.objects.all():
        assert care_request.events.filter(kind="created").exists()
        assert not care_request.events.filter(announced_at__isnull=True).exists()
    assert CareRequestMessage.objects.filter(side="concierge").exists()
    assert CareRequestMessage.objects.filter(side="patient").exists()
    assert CarePlan.objects.get().shared_with_patient
    assert CareRequest.objects.overdue().exists()
