"""The shipped eight-step program speaks German and Spanish too: each step gets its versions
(a step whose versions a marketer already wrote is left alone)."""

from django.db import migrations

# kind -> language -> (subject, body, sms); the letter is the body, the call script names the
# step and reads the body.
VERSIONS = {
    "welcome_kit": {
        "de": (
            "Willkommen, {{ first_name|default('und danke') }}",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\ndanke, dass Sie sich für uns entschieden haben. Ihr Willkommenspaket ist unterwegs: alles, was Sie für die ersten Wochen brauchen.\n\nWenn etwas unklar ist, ist {{ owner_name }} Ihr Ansprechpartner und hilft gern.\n",
            "Willkommen, {{ first_name }}! Ihr Willkommenspaket ist unterwegs. {{ owner_name }} ist Ihr Ansprechpartner.",
        ),
        "es": (
            "Bienvenido, {{ first_name|default('y gracias') }}",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\ngracias por elegirnos. Su paquete de bienvenida está en camino: todo lo que necesita para sacar el máximo partido a sus primeras semanas.\n\nSi algo no está claro, {{ owner_name }} es su contacto y le ayudará con gusto.\n",
            "¡Bienvenido, {{ first_name }}! Su paquete de bienvenida está en camino. {{ owner_name }} es su contacto.",
        ),
    },
    "satisfaction_survey": {
        "de": (
            "Wie machen wir uns, {{ first_name|default('liebe Kundin, lieber Kunde') }}?",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\nzwei Wochen sind vergangen: Wie wahrscheinlich ist es, dass Sie uns Freunden oder Kollegen empfehlen? Drei kurze Fragen, eine Minute.\n\n{{ survey_url }}\n{% if premium %}\nAls Dankeschön für Ihre Antwort: {{ premium }}.\n{% endif %}",
            "Wie wahrscheinlich empfehlen Sie uns weiter? Sagen Sie es uns in einer Minute: {{ survey_url }}",
        ),
        "es": (
            "¿Qué tal lo estamos haciendo, {{ first_name|default('estimado cliente') }}?",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\nya han pasado dos semanas: ¿qué probabilidad hay de que nos recomiende a un amigo o colega? Tres preguntas breves, un minuto.\n\n{{ survey_url }}\n{% if premium %}\nComo agradecimiento por responder: {{ premium }}.\n{% endif %}",
            "¿Nos recomendaría? Díganoslo en un minuto: {{ survey_url }}",
        ),
    },
    "check_in": {
        "de": (
            "Wir melden uns kurz",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\nwir wollten kurz nachfragen: Läuft alles so, wie Sie es sich vorgestellt haben? Antworten Sie auf diese E-Mail, und {{ owner_name }} meldet sich bei Ihnen.\n",
            "Hallo {{ first_name }}, alles in Ordnung? Antworten Sie, und {{ owner_name }} ruft Sie zurück.",
        ),
        "es": (
            "¿Cómo va todo?",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\nqueríamos saber si todo funciona como esperaba. Responda a este correo y {{ owner_name }} se pondrá en contacto con usted.\n",
            "Hola, {{ first_name }}, ¿todo bien? Responda y {{ owner_name }} le llamará.",
        ),
    },
    "cross_sell": {
        "de": (
            "Noch etwas für Sie",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\nKunden wie Sie schätzen auch {{ categories_not_bought|join(', ')|default('unsere anderen Sortimente') }}. Fragen Sie {{ owner_name }} nach einer Empfehlung.\n",
            "{{ first_name }}, kennen Sie schon {{ categories_not_bought|join(', ')|default('unsere anderen Sortimente') }}?",
        ),
        "es": (
            "Algo más para usted",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\nlos clientes como usted también disfrutan de {{ categories_not_bought|join(', ')|default('nuestras otras gamas') }}. Pida una recomendación a {{ owner_name }}.\n",
            "{{ first_name }}, ¿conoce {{ categories_not_bought|join(', ')|default('nuestras otras gamas') }}?",
        ),
    },
    "gift": {
        "de": (
            "Ein Geschenk für Sie",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\ndanke, dass Sie bei uns sind: Ein kleines Geschenk ist zu Ihnen unterwegs.\n",
            "{{ first_name }}, ein kleines Geschenk ist zu Ihnen unterwegs. Danke!",
        ),
        "es": (
            "Un regalo para usted",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\ngracias por estar con nosotros: un pequeño regalo está en camino.\n",
            "{{ first_name }}, un pequeño regalo está en camino. ¡Gracias!",
        ),
    },
    "refer_friend": {
        "de": (
            "Kennen Sie jemanden, dem wir gefallen würden?",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\nwenn Sie jemanden kennen, dem gefallen würde, was wir tun, geben Sie ihm Ihren Code {{ referral_code }}: Wir bedanken uns bei Ihnen beiden.\n",
            "Kennen Sie jemanden, dem wir gefallen würden? Geben Sie ihm Ihren Code {{ referral_code }}.",
        ),
        "es": (
            "¿Conoce a alguien a quien le gustaríamos?",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\nsi conoce a alguien a quien le gustaría lo que hacemos, dele su código {{ referral_code }}: se lo agradeceremos a los dos.\n",
            "¿Conoce a alguien a quien le gustaríamos? Dele su código {{ referral_code }}.",
        ),
    },
    "renewal": {
        "de": (
            "Ihr Vertrag verlängert sich bald",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\nIhr Vertrag endet in einem Monat. {{ owner_name }} spricht gern mit Ihnen darüber, wie es weitergeht.\n",
            "{{ first_name }}, Ihr Vertrag endet in einem Monat. {{ owner_name }} meldet sich bei Ihnen.",
        ),
        "es": (
            "Su contrato se renueva pronto",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\nsu contrato termina dentro de un mes. {{ owner_name }} estará encantado de hablar con usted sobre lo que viene.\n",
            "{{ first_name }}, su contrato termina dentro de un mes. {{ owner_name }} se pondrá en contacto.",
        ),
    },
    "anniversary": {
        "de": (
            "Alles Gute zum Jahrestag!",
            "Guten Tag {{ first_name|default('liebe Kundin, lieber Kunde') }},\n\nwieder ein gemeinsames Jahr: danke.\n",
            "Wieder ein gemeinsames Jahr, {{ first_name }}: danke!",
        ),
        "es": (
            "¡Feliz aniversario!",
            "Hola, {{ first_name|default('estimado cliente') }}:\n\notro año juntos: gracias.\n",
            "Otro año juntos, {{ first_name }}: ¡gracias!",
        ),
    },
}
CALL = {"de": "Anruf wegen: {name}.\n\n{body}", "es": "Llamada sobre: {name}.\n\n{body}"}
NAMES = {
    "welcome_kit": {"de": "Willkommenspaket", "es": "paquete de bienvenida"},
    "satisfaction_survey": {"de": "Zufriedenheitsumfrage", "es": "encuesta de satisfacción"},
    "check_in": {"de": "Nachfrage", "es": "seguimiento"},
    "cross_sell": {"de": "Weitere Angebote", "es": "otras ofertas"},
    "gift": {"de": "Geschenk oder Testangebot", "es": "regalo o prueba gratuita"},
    "refer_friend": {"de": "Freunde empfehlen", "es": "recomendar a un amigo"},
    "renewal": {"de": "Vertragsverlängerung", "es": "renovación del contrato"},
    "anniversary": {"de": "Jahrestag", "es": "aniversario"},
}


def versions_for(kind: str) -> dict:
    out = {}
    for language, (subject, body, sms) in VERSIONS[kind].items():
        out[language] = {
            "email_subject": subject,
            "email_body": body,
            "sms_body": sms,
            "letter_body": body,
            "call_script": CALL[language].format(name=NAMES[kind][language], body=body),
        }
    return out


def add_versions(apps, schema_editor):
    Step = apps.get_model("programs", "Step")
    steps = Step.objects.filter(program__is_prototype=True, kind__in=list(VERSIONS))
    for step in steps:
        if step.versions:
            continue
        step.versions = versions_for(step.kind)
        step.save(update_fields=["versions"])


def remove_versions(apps, schema_editor):
    Step = apps.get_model("programs", "Step")
    for step in Step.objects.filter(program__is_prototype=True, kind__in=list(VERSIONS)):
        if step.versions == versions_for(step.kind):
            step.versions = {}
            step.save(update_fields=["versions"])


class Migration(migrations.Migration):
    dependencies = [("programs", "0024_step_versions")]

    operations = [migrations.RunPython(add_versions, remove_versions)]
