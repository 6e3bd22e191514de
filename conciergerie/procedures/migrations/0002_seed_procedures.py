"""The two procedures every member of staff reads first: the emergency protocol
and the rules of medical secrecy. Written in French: the staff work in French."""

from django.db import migrations
from django.utils import timezone

EMERGENCY = """Ce protocole s'applique dès qu'un patient, un proche ou un partenaire décrit des signes d'urgence vitale (douleur thoracique, difficulté à respirer, signes d'AVC : visage paralysé, bras ou jambe faible, trouble de la parole ; perte de connaissance, hémorragie, idées suicidaires, malaise d'un enfant).

1. Ne pas raccrocher, ne pas différer : la conciergerie ne remplace jamais les secours.
2. Demander au patient ou à son entourage d'appeler le 15 (SAMU) tout de suite, ou le 112 (numéro d'urgence européen, depuis tout téléphone). Si la personne ne peut pas appeler, appeler le 15 vous-même en donnant l'adresse exacte, le numéro de rappel et ce qui a été décrit.
3. Autres numéros : 18 (pompiers), 17 (police), 114 par SMS pour les personnes sourdes ou malentendantes, 3114 (prévention du suicide), 116 117 (médecin de garde hors urgence vitale).
4. Dans le back-office, passer la demande en « urgence » (bouton Escalader) : le concierge d'astreinte est prévenu et la liste de contrôle du protocole s'ouvre.
5. Noter l'heure de l'appel, le numéro composé et la consigne donnée dans la demande (jamais dans un SMS ou un e-mail).
6. Rappeler le patient ou son entourage dans l'heure pour savoir s'il a été pris en charge ; prévenir le conseiller médical.
7. Clore l'urgence seulement quand la liste de contrôle est complète ; la demande passe alors en suivi."""

SECRECY = """Toute l'équipe est tenue au secret médical et professionnel (article L1110-4 du Code de la santé publique) : ce que nous apprenons d'un patient ne sort pas du cercle des personnes qui le prennent en charge.

- Ne lire un dossier médical que pour un patient qui vous est confié. Ouvrir un autre dossier (absence d'un collègue, urgence) demande un motif, conservé dans le journal d'accès et visible par le patient.
- Aucune donnée médicale dans les SMS, les e-mails de rappel, les objets de message ni les messageries personnelles.
- Ne jamais confirmer à un tiers (employeur, proche non désigné, assureur) qu'une personne est suivie par la conciergerie.
- Verrouiller sa session en quittant son poste ; ne jamais partager son mot de passe ni son code d'authentification.
- Les documents sont téléchargés uniquement depuis le back-office, sur un poste de l'entreprise, et jamais conservés sur un support personnel.
- Toute perte, erreur d'envoi ou accès suspect est signalé le jour même au responsable : une violation de données doit être notifiée à la CNIL sous 72 heures."""

SEEDS = [
    ("protocole-urgence", "protocol", "Protocole d'urgence : 15 / 112", EMERGENCY),
    (
        "secret-medical",
        "training",
        "Confidentialité et secret médical",
        SECRECY,
    ),
]


def seed(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    ProcedureVersion = apps.get_model("procedures", "ProcedureVersion")
    now = timezone.now()
    for slug, kind, title, body in SEEDS:
        if Procedure.objects.filter(slug=slug).exists():
            continue
        procedure = Procedure.objects.create(slug=slug, kind=kind, title=title)
        version = ProcedureVersion.objects.create(
            procedure=procedure, number=1, title=title, body=body, published_at=now
        )
        procedure.current_version = version
        procedure.save(update_fields=["current_version"])


def unseed(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    Procedure.objects.filter(slug__in=[seed[0] for seed in SEEDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("procedures", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
