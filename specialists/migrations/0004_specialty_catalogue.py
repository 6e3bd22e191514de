"""The specialty catalogue: specialties, their usual exams and their intake questions.

Codes are stable: other apps store them. Later amendments go in new migrations.
"""

from django.db import migrations

YES_NO = "yes_no"
SHORT = "short_text"
LONG = "long_text"
CHOICE = "choice"
MULTI = "multiple_choice"
NUMBER = "number"
DATE = "date"

# (code, French, English, practitioner title, keywords, RPPS labels, direct access,
#  medical, procedures [(code, fr, en, kind)], questions
#  [(code, fr, en, type, choices, required, help)])
CATALOGUE = [
    (
        "general-practice",
        "Médecine générale",
        "General practice",
        "médecin généraliste",
        "generaliste medecin traitant famille",
        [
            "Médecine générale",
            "Qualifié en Médecine Générale",
            "Spécialiste en Médecine Générale",
        ],
        False,
        True,
        [
            ("check-up", "Bilan de santé", "Health check-up", "exam"),
            ("vaccination", "Vaccination", "Vaccination", "procedure"),
            ("certificate", "Certificat médical", "Medical certificate", "procedure"),
            ("smear", "Frottis cervico-utérin", "Cervical smear", "exam"),
            ("suture", "Petite suture", "Minor suturing", "procedure"),
        ],
        [
            ("symptoms", "Quels sont vos symptômes ?", "What are your symptoms?", LONG, [], True, ""),
            (
                "since",
                "Depuis quand ?",
                "Since when?",
                CHOICE,
                ["Moins de 24 heures", "Quelques jours", "Plus d'une semaine", "Plus d'un mois"],
                True,
                "",
            ),
            ("fever", "Avez-vous de la fièvre ?", "Do you have a fever?", YES_NO, [], False, ""),
            (
                "treatments",
                "Quels traitements prenez-vous ?",
                "Which treatments do you take?",
                LONG,
                [],
                False,
                "",
            ),
        ],
    ),
    (
        "cardiology",
        "Cardiologie",
        "Cardiology",
        "cardiologue",
        "cardiologue coeur cardiaque tension hypertension palpitations",
        ["Cardiologie et maladies vasculaires", "Médecine cardiovasculaire", "Cardiologie"],
        False,
        True,
        [
            ("ecg", "Électrocardiogramme (ECG)", "Electrocardiogram (ECG)", "exam"),
            ("echocardiography", "Échocardiographie", "Echocardiography", "exam"),
            ("stress-test", "Épreuve d'effort", "Stress test", "exam"),
            ("holter", "Holter ECG des 24 heures", "24-hour Holter monitoring", "exam"),
            ("abpm", "Mesure ambulatoire de la pression artérielle (MAPA)", "Ambulatory blood pressure monitoring", "exam"),
        ],
        [
            (
                "chest-pain",
                "Avez-vous des douleurs dans la poitrine ?",
                "Do you have chest pain?",
                YES_NO,
                [],
                True,
                "Une douleur thoracique intense ou au repos est une urgence : appelez le 15.",
            ),
            (
                "symptoms",
                "Ressentez-vous l'un de ces symptômes ?",
                "Do you feel any of these symptoms?",
                MULTI,
                ["Palpitations", "Essoufflement", "Malaise", "Jambes gonflées", "Aucun"],
                False,
                "",
            ),
            (
                "risk-factors",
                "Facteurs de risque connus",
                "Known risk factors",
                MULTI,
                ["Hypertension", "Diabète", "Tabac", "Cholestérol", "Antécédents familiaux"],
                False,
                "",
            ),
            ("previous-ecg", "Avez-vous déjà eu un ECG ?", "Have you had an ECG before?", YES_NO, [], False, ""),
            ("treatments", "Traitements en cours", "Current treatments", LONG, [], False, ""),
        ],
    ),
    (
        "dermatology",
        "Dermatologie",
        "Dermatology",
        "dermatologue",
        "dermatologue peau grain beaute acne eczema psoriasis",
        ["Dermatologie et vénéréologie", "Dermatologie"],
        False,
        True,
        [
            ("dermoscopy", "Dermoscopie", "Dermoscopy", "exam"),
            ("biopsy", "Biopsie cutanée", "Skin biopsy", "procedure"),
            ("cryotherapy", "Cryothérapie", "Cryotherapy", "procedure"),
            ("excision", "Exérèse de lésion", "Lesion excision", "procedure"),
            ("mole-mapping", "Cartographie des grains de beauté", "Mole mapping", "exam"),
        ],
        [
            ("location", "Où se situe la lésion ?", "Where is the lesion?", SHORT, [], True, ""),
            (
                "changing-mole",
                "Un grain de beauté a-t-il changé de taille, de forme ou de couleur ?",
                "Has a mole changed in size, shape or colour?",
                YES_NO,
                [],
                True,
                "",
            ),
            (
                "since",
                "Depuis quand ?",
                "Since when?",
                CHOICE,
                ["Quelques jours", "Quelques semaines", "Plusieurs mois", "Plus d'un an"],
                False,
                "",
            ),
            ("photos", "Pouvez-vous envoyer des photos ?", "Can you send photos?", YES_NO, [], False, ""),
        ],
    ),
    (
        "gastroenterology",
        "Gastro-entérologie",
        "Gastroenterology",
        "gastro-entérologue",
        "gastroenterologue gastro digestif estomac intestin foie",
        ["Gastro-entérologie et hépatologie", "Hépato-gastro-entérologie"],
        False,
        True,
        [
            ("gastroscopy", "Endoscopie digestive haute (gastroscopie)", "Upper endoscopy (gastroscopy)", "exam"),
            ("colonoscopy", "Coloscopie", "Colonoscopy", "exam"),
            ("abdominal-ultrasound", "Échographie abdominale", "Abdominal ultrasound", "exam"),
            ("fibroscan", "Élastométrie du foie (FibroScan)", "Liver elastography (FibroScan)", "exam"),
        ],
        [
            (
                "symptoms",
                "Quels symptômes ?",
                "Which symptoms?",
                MULTI,
                ["Douleurs abdominales", "Reflux", "Troubles du transit", "Sang dans les selles", "Perte de poids"],
                True,
                "",
            ),
            ("last-colonoscopy", "Date de la dernière coloscopie", "Date of the last colonoscopy", DATE, [], False, ""),
            (
                "family-history",
                "Antécédent familial de cancer colorectal ?",
                "Family history of colorectal cancer?",
                YES_NO,
                [],
                False,
                "",
            ),
        ],
    ),
    (
        "neurology",
        "Neurologie",
        "Neurology",
        "neurologue",
        "neurologue migraine epilepsie mémoire parkinson sclérose",
        ["Neurologie"],
        False,
        True,
        [
            ("mri", "IRM cérébrale", "Brain MRI", "exam"),
            ("eeg", "Électroencéphalogramme (EEG)", "Electroencephalogram (EEG)", "exam"),
            ("emg", "Électromyogramme (EMG)", "Electromyogram (EMG)", "exam"),
            ("doppler", "Doppler des vaisseaux du cou", "Neck vessel Doppler", "exam"),
        ],
        [
            (
                "symptoms",
                "Quels symptômes ?",
                "Which symptoms?",
                MULTI,
                ["Maux de tête", "Engourdissements", "Vertiges", "Troubles de la mémoire", "Crises", "Tremblements"],
                True,
                "",
            ),
            (
                "sudden-onset",
                "Les symptômes sont-ils apparus brutalement ?",
                "Did the symptoms start suddenly?",
                YES_NO,
                [],
                True,
                "Paralysie, trouble de la parole ou du visage soudain : appelez le 15.",
            ),
            ("imaging", "Avez-vous déjà une IRM ou un scanner ?", "Do you already have an MRI or a CT scan?", YES_NO, [], False, ""),
        ],
    ),
    (
        "orthopaedics",
        "Chirurgie orthopédique",
        "Orthopaedics",
        "chirurgien orthopédiste",
        "orthopediste os articulation genou hanche dos epaule fracture",
        ["Chirurgie orthopédique et traumatologie"],
        False,
        True,
        [
            ("x-ray", "Radiographie", "X-ray", "exam"),
            ("mri", "IRM ostéo-articulaire", "Musculoskeletal MRI", "exam"),
            ("rehabilitation", "Rééducation (kinésithérapie)", "Rehabilitation (physiotherapy)", "follow_up"),
            ("infiltration", "Infiltration", "Joint injection", "procedure"),
            ("arthroscopy", "Arthroscopie", "Arthroscopy", "procedure"),
        ],
        [
            (
                "body-part",
                "Quelle partie du corps ?",
                "Which part of the body?",
                CHOICE,
                ["Épaule", "Coude", "Poignet ou main", "Dos", "Hanche", "Genou", "Cheville ou pied"],
                True,
                "",
            ),
            ("trauma", "Suite à une chute ou un choc ?", "After a fall or an injury?", YES_NO, [], True, ""),
            ("pain", "Douleur de 0 à 10", "Pain from 0 to 10", NUMBER, [], False, ""),
            ("imaging", "Avez-vous des radios ou une IRM ?", "Do you have X-rays or an MRI?", YES_NO, [], False, ""),
        ],
    ),
    (
        "paediatrics",
        "Pédiatrie",
        "Paediatrics",
        "pédiatre",
        "pediatre enfant bebe nourrisson",
        ["Pédiatrie"],
        False,
        True,
        [
            ("vaccination", "Vaccinations", "Vaccinations", "procedure"),
            ("check-up", "Examens de santé obligatoires de l'enfant", "Compulsory child check-ups", "exam"),
            ("growth", "Suivi de la croissance", "Growth monitoring", "follow_up"),
            ("development", "Dépistage des troubles du développement", "Developmental screening", "exam"),
        ],
        [
            ("age-months", "Âge de l'enfant (en mois)", "Child's age (in months)", NUMBER, [], True, ""),
            (
                "reason",
                "Motif",
                "Reason",
                CHOICE,
                ["Bilan de santé", "Vaccination", "Enfant malade", "Croissance ou développement"],
                True,
                "",
            ),
            ("vaccines-up-to-date", "Les vaccins sont-ils à jour ?", "Are vaccinations up to date?", YES_NO, [], False, ""),
            ("health-booklet", "Avez-vous le carnet de santé ?", "Do you have the health booklet?", YES_NO, [], False, ""),
        ],
    ),
    (
        "psychiatry",
        "Psychiatrie",
        "Psychiatry",
        "psychiatre",
        "psychiatre depression anxiete bipolaire sante mentale",
        ["Psychiatrie", "Psychiatrie de l'enfant et de l'adolescent"],
        False,
        True,
        [
            ("assessment", "Évaluation psychiatrique", "Psychiatric assessment", "exam"),
            ("medication", "Suivi d'un traitement médicamenteux", "Medication follow-up", "follow_up"),
            ("psychotherapy", "Psychothérapie", "Psychotherapy", "follow_up"),
        ],
        [
            ("reason", "Motif de la demande", "Reason for the request", LONG, [], True, ""),
            (
                "self-harm",
                "Avez-vous des idées suicidaires ?",
                "Do you have suicidal thoughts?",
                YES_NO,
                [],
                True,
                "Si oui, appelez le 3114 (prévention du suicide) ou le 15 sans attendre.",
            ),
            ("treatment", "Traitement en cours", "Current treatment", LONG, [], False, ""),
            ("previous-care", "Avez-vous déjà été suivi(e) ?", "Have you been followed before?", YES_NO, [], False, ""),
        ],
    ),
    (
        "psychology",
        "Psychologie",
        "Psychology",
        "psychologue",
        "psychologue therapie psychotherapeute stress burnout anxiete",
        ["Psychologie", "Psychologue"],
        False,
        False,
        [
            ("assessment", "Bilan psychologique", "Psychological assessment", "exam"),
            ("therapy", "Séances de psychothérapie", "Psychotherapy sessions", "follow_up"),
            ("neuropsychology", "Bilan neuropsychologique", "Neuropsychological assessment", "exam"),
        ],
        [
            (
                "reason",
                "Motif",
                "Reason",
                CHOICE,
                ["Anxiété", "Baisse de moral", "Stress ou épuisement", "Couple ou famille", "Deuil", "Autre"],
                True,
                "",
            ),
            ("for-whom", "Pour qui ?", "For whom?", CHOICE, ["Enfant", "Adolescent", "Adulte", "Couple"], True, ""),
            (
                "approach",
                "Approche souhaitée",
                "Preferred approach",
                CHOICE,
                ["Thérapie cognitive et comportementale", "Psychodynamique", "Systémique", "Pas de préférence"],
                False,
                "",
            ),
            ("previous-therapy", "Avez-vous déjà suivi une thérapie ?", "Have you had therapy before?", YES_NO, [], False, ""),
        ],
    ),
    (
        "gynaecology-obstetrics",
        "Gynécologie-obstétrique",
        "Gynaecology and obstetrics",
        "gynécologue",
        "gynecologue gyneco grossesse contraception frottis obstetricien",
        ["Gynécologie-obstétrique", "Gynécologie médicale", "Gynécologie médicale et obstétrique", "Obstétrique"],
        True,
        True,
        [
            ("smear", "Frottis cervico-utérin", "Cervical smear", "exam"),
            ("pelvic-ultrasound", "Échographie pelvienne", "Pelvic ultrasound", "exam"),
            ("pregnancy", "Suivi de grossesse", "Pregnancy follow-up", "follow_up"),
            ("iud", "Pose de stérilet (DIU)", "IUD insertion", "procedure"),
            ("colposcopy", "Colposcopie", "Colposcopy", "exam"),
        ],
        [
            (
                "reason",
                "Motif",
                "Reason",
                CHOICE,
                ["Suivi et frottis", "Contraception", "Suivi de grossesse", "Ménopause", "Douleurs ou saignements", "Fertilité"],
                True,
                "",
            ),
            ("pregnant", "Êtes-vous enceinte ?", "Are you pregnant?", YES_NO, [], True, ""),
            ("weeks", "Si oui, depuis combien de semaines ?", "If so, how many weeks?", NUMBER, [], False, ""),
            ("last-smear", "Date du dernier frottis", "Date of the last smear", DATE, [], False, ""),
        ],
    ),
    (
        "ophthalmology",
        "Ophtalmologie",
        "Ophthalmology",
        "ophtalmologue",
        "ophtalmologiste ophtalmo yeux vue lunettes lentilles",
        ["Ophtalmologie"],
        True,
        True,
        [
            ("eye-test", "Examen de la vue (réfraction)", "Eye test (refraction)", "exam"),
            ("fundus", "Fond d'œil", "Fundus examination", "exam"),
            ("oct", "Tomographie en cohérence optique (OCT)", "Optical coherence tomography (OCT)", "exam"),
            ("visual-field", "Champ visuel", "Visual field test", "exam"),
            ("surgery", "Chirurgie de la cataracte", "Cataract surgery", "procedure"),
        ],
        [
            (
                "reason",
                "Motif",
                "Reason",
                CHOICE,
                ["Lunettes ou lentilles", "Baisse de vision", "Œil rouge ou douloureux", "Suivi du diabète", "Suivi du glaucome"],
                True,
                "",
            ),
            (
                "sudden-loss",
                "Avez-vous perdu la vue brutalement ?",
                "Did you suddenly lose your sight?",
                YES_NO,
                [],
                True,
                "Une perte de vision brutale est une urgence : appelez le 15.",
            ),
            ("glasses", "Portez-vous des lunettes ou des lentilles ?", "Do you wear glasses or lenses?", YES_NO, [], False, ""),
            ("last-exam", "Date du dernier examen", "Date of the last exam", DATE, [], False, ""),
        ],
    ),
    (
        "ent",
        "Oto-rhino-laryngologie (ORL)",
        "Ear, nose and throat (ENT)",
        "ORL",
        "orl oto rhino oreille nez gorge audition sinus",
        ["Oto-rhino-laryngologie et chirurgie cervico-faciale", "Oto-rhino-laryngologie"],
        False,
        True,
        [
            ("hearing-test", "Audiogramme (test auditif)", "Audiogram (hearing test)", "exam"),
            ("nasofibroscopy", "Nasofibroscopie", "Nasal endoscopy", "exam"),
            ("tympanometry", "Tympanométrie", "Tympanometry", "exam"),
            ("vestibular", "Bilan vestibulaire", "Vestibular assessment", "exam"),
        ],
        [
            (
                "reason",
                "Motif",
                "Reason",
                CHOICE,
                ["Baisse d'audition", "Acouphènes", "Sinusite", "Mal de gorge", "Vertiges", "Ronflements"],
                True,
                "",
            ),
            ("hearing-test", "Avez-vous déjà fait un audiogramme ?", "Have you had a hearing test before?", YES_NO, [], False, ""),
            ("hearing-aids", "Portez-vous un appareil auditif ?", "Do you wear hearing aids?", YES_NO, [], False, ""),
        ],
    ),
    (
        "rheumatology",
        "Rhumatologie",
        "Rheumatology",
        "rhumatologue",
        "rhumatologue arthrose arthrite osteoporose articulations",
        ["Rhumatologie"],
        False,
        True,
        [
            ("joint-ultrasound", "Échographie articulaire", "Joint ultrasound", "exam"),
            ("densitometry", "Ostéodensitométrie", "Bone densitometry", "exam"),
            ("infiltration", "Infiltration", "Joint injection", "procedure"),
        ],
        [
            ("joints", "Quelles articulations sont douloureuses ?", "Which joints hurt?", SHORT, [], True, ""),
            ("morning-stiffness", "Raideur le matin ?", "Morning stiffness?", YES_NO, [], False, ""),
        ],
    ),
    (
        "endocrinology",
        "Endocrinologie, diabétologie",
        "Endocrinology and diabetes",
        "endocrinologue",
        "endocrinologue diabete thyroide hormones diabetologue",
        ["Endocrinologie, diabétologie, nutrition", "Endocrinologie et métabolismes"],
        False,
        True,
        [
            ("thyroid-ultrasound", "Échographie thyroïdienne", "Thyroid ultrasound", "exam"),
            ("diabetes", "Suivi du diabète", "Diabetes follow-up", "follow_up"),
            ("hormones", "Bilan hormonal", "Hormone assessment", "exam"),
        ],
        [
            ("diabetes", "Êtes-vous diabétique ?", "Do you have diabetes?", YES_NO, [], True, ""),
            ("last-hba1c", "Dernière HbA1c (%)", "Last HbA1c (%)", NUMBER, [], False, ""),
        ],
    ),
    (
        "pulmonology",
        "Pneumologie",
        "Pulmonology",
        "pneumologue",
        "pneumologue poumons asthme apnee sommeil toux respiration",
        ["Pneumologie"],
        False,
        True,
        [
            ("spirometry", "Épreuves fonctionnelles respiratoires", "Lung function tests", "exam"),
            ("sleep-study", "Polygraphie du sommeil", "Sleep study", "exam"),
            ("chest-x-ray", "Radiographie du thorax", "Chest X-ray", "exam"),
        ],
        [
            ("breathless", "Êtes-vous essoufflé(e) au repos ?", "Are you breathless at rest?", YES_NO, [], True, "Une détresse respiratoire est une urgence : appelez le 15."),
            ("smoker", "Fumez-vous ?", "Do you smoke?", YES_NO, [], False, ""),
        ],
    ),
    (
        "urology",
        "Urologie",
        "Urology",
        "urologue",
        "urologue prostate vessie reins calculs",
        ["Chirurgie urologique", "Urologie"],
        False,
        True,
        [
            ("psa", "Surveillance du PSA", "PSA monitoring", "follow_up"),
            ("cystoscopy", "Cystoscopie", "Cystoscopy", "exam"),
            ("urodynamics", "Bilan urodynamique", "Urodynamic assessment", "exam"),
        ],
        [
            ("symptoms", "Quels symptômes urinaires ?", "Which urinary symptoms?", LONG, [], True, ""),
            ("blood", "Sang dans les urines ?", "Blood in the urine?", YES_NO, [], False, ""),
        ],
    ),
]


def load_catalogue(apps, schema_editor):
    Specialty = apps.get_model("specialists", "Specialty")
    Procedure = apps.get_model("specialists", "SpecialtyProcedure")
    Question = apps.get_model("specialists", "IntakeQuestion")
    for order, row in enumerate(CATALOGUE, start=1):
        (code, name, name_en, title, keywords, labels, direct, medical, procedures, questions) = row
        specialty, _created = Specialty.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "practitioner_title": title,
                "keywords": keywords,
                "rpps_labels": labels,
                "direct_access": direct,
                "is_medical": medical,
                "sort_order": order * 10,
            },
        )
        for position, (pcode, pname, pname_en, kind) in enumerate(procedures, start=1):
            Procedure.objects.update_or_create(
                specialty=specialty,
                code=pcode,
                defaults={"name": pname, "name_en": pname_en, "kind": kind, "sort_order": position * 10},
            )
        for position, (qcode, text, text_en, answer, choices, required, help_text) in enumerate(
            questions, start=1
        ):
            Question.objects.update_or_create(
                specialty=specialty,
                code=qcode,
                defaults={
                    "text": text,
                    "text_en": text_en,
                    "answer_type": answer,
                    "choices": choices,
                    "required": required,
                    "help_text": help_text,
                    "sort_order": position * 10,
                },
            )


def unload_catalogue(apps, schema_editor):
    Specialty = apps.get_model("specialists", "Specialty")
    Specialty.objects.filter(code__in=[row[0] for row in CATALOGUE]).delete()


class Migration(migrations.Migration):
    dependencies = [("specialists", "0003_directory")]

    operations = [migrations.RunPython(load_catalogue, unload_catalogue)]
