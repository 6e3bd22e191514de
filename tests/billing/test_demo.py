from io import StringIO

from billing import demo
from billing.models import CreditNote, Invoice, Quote


def test_the_demo_covers_every_state_and_runs_twice_without_duplicates(db, mailoutbox):
    demo.seed(stdout=StringIO())
    counts = (
        Quote.objects.count(),
        Invoice.objects.count(),
        CreditNote.objects.count(),
    )

    demo.seed(stdout=StringIO())

    assert (
        Quote.objects.count(),
        Invoice.objects.count(),
        CreditNote.objects.count(),
    ) == counts
    states = set(Invoice.objects.values_list("state", flat=True))
    assert {"partially_paid", "paid", "overdue"} <= states
    assert set(Quote.objects.values_list("state", flat=True)) >= {
        "sent",
        "invoiced",
        "draft",
    }
    assert CreditNote.objects.count() == 1
    assert mailoutbox == []
