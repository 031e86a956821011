"""A bank of survey verbatims, in French and English, by tone and topic.

A verbatim is assembled from fragments of one tone: an optional opener, a sentence on
the topic that drove the experience (the wait, the adviser, the resolution, the app,
fees, cards, credit or the bank in general), sometimes a second sentence on another
topic, and an optional closing word. The tone follows the CSAT score, the topic follows
what happened (a long wait, an unresolved request, the reason of the contact), so a
sentiment or theme analysis of the verbatims finds what the scores say.
"""

from __future__ import annotations

import numpy as np

TONES = ("positive", "neutral", "negative")
POSITIVE, NEUTRAL, NEGATIVE = range(3)
TOPICS = ("attente", "conseiller", "resolution", "application", "frais", "carte", "credit", "general")
ATTENTE, CONSEILLER, RESOLUTION, APPLICATION, FRAIS, CARTE, CREDIT, GENERAL = range(len(TOPICS))

_FR: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "attente": (
        (
            "Réponse très rapide, je n'ai presque pas attendu.",
            "J'ai été mis en relation avec un conseiller en moins d'une minute.",
            "Aucune attente, c'est appréciable.",
            "Temps d'attente très court, bravo.",
            "Rappelé dans l'heure comme promis, merci.",
        ),
        (
            "L'attente était un peu longue mais raisonnable.",
            "Quelques minutes d'attente, rien d'anormal.",
            "Le délai de réponse est correct sans plus.",
            "Attente acceptable pour un lundi matin.",
        ),
        (
            "Plus de vingt minutes d'attente, c'est inadmissible.",
            "Impossible de joindre quelqu'un, j'ai raccroché deux fois.",
            "Délai de réponse beaucoup trop long pour un simple mail.",
            "Attente interminable avec la même musique en boucle.",
            "Trois jours pour avoir une réponse, c'est beaucoup trop.",
        ),
    ),
    "conseiller": (
        (
            "Conseiller très aimable et à l'écoute.",
            "Ma conseillère a été patiente et très professionnelle.",
            "Interlocuteur compétent qui connaissait bien son sujet.",
            "Accueil chaleureux et explications claires.",
            "Un grand merci à la conseillère pour sa gentillesse.",
        ),
        (
            "Le conseiller a fait son travail.",
            "Échange correct, sans plus.",
            "Conseiller poli mais un peu pressé.",
            "Interlocuteur aimable mais qui a dû se renseigner.",
        ),
        (
            "Conseiller désagréable et peu à l'écoute.",
            "Mon interlocuteur ne connaissait pas le dossier.",
            "On m'a coupé la parole plusieurs fois.",
            "Réponses toutes faites, aucune empathie.",
            "Le conseiller m'a transféré sans rien expliquer.",
        ),
    ),
    "resolution": (
        (
            "Mon problème a été réglé immédiatement.",
            "Demande traitée en un seul appel, parfait.",
            "Solution trouvée rapidement, je suis rassuré.",
            "Tout a été résolu dès le premier contact.",
            "Dossier réglé efficacement.",
        ),
        (
            "Ma demande est en cours de traitement.",
            "On m'a dit que ce serait réglé sous quelques jours.",
            "Problème partiellement résolu.",
            "Il faudra que je rappelle pour finaliser.",
        ),
        (
            "Toujours aucune solution après trois appels.",
            "Mon problème n'est toujours pas réglé.",
            "On me renvoie d'un service à l'autre sans résultat.",
            "Personne n'a été capable de m'aider.",
            "Je dois encore relancer, c'est épuisant.",
        ),
    ),
    "application": (
        (
            "L'application est pratique et facile à utiliser.",
            "J'ai pu tout faire depuis l'appli, très simple.",
            "Le nouvel espace client est clair.",
            "Opération faite en deux minutes sur l'appli.",
        ),
        (
            "L'application fonctionne mais reste un peu lente.",
            "L'espace client est correct, certaines fonctions manquent.",
            "J'ai dû chercher un moment dans l'appli.",
        ),
        (
            "L'application plante sans arrêt.",
            "Impossible de me connecter à mon espace client.",
            "Le code de validation n'arrive jamais par SMS.",
            "L'appli ne fonctionne plus depuis la mise à jour.",
            "Authentification forte bien trop compliquée.",
        ),
    ),
    "frais": (
        (
            "Frais remboursés sans discussion, merci.",
            "Geste commercial très apprécié.",
            "Tarifs clairs et raisonnables.",
        ),
        (
            "Les frais sont dans la moyenne.",
            "Je n'ai pas bien compris certains frais mais on me les a expliqués.",
            "J'attends de voir si les frais seront remboursés.",
        ),
        (
            "Des frais injustifiés prélevés sans prévenir.",
            "Frais bancaires beaucoup trop élevés.",
            "On refuse de me rembourser des frais abusifs.",
            "Commission d'intervention incompréhensible.",
        ),
    ),
    "carte": (
        (
            "Carte opposée en quelques minutes, très réactif.",
            "Nouvelle carte reçue rapidement.",
            "Plafond de carte augmenté tout de suite.",
        ),
        (
            "La nouvelle carte devrait arriver sous une semaine.",
            "Opposition faite, en attente de la nouvelle carte.",
        ),
        (
            "Ma carte est bloquée depuis une semaine.",
            "Carte refusée en magasin sans explication.",
            "Toujours pas reçu ma nouvelle carte.",
            "Paiement refusé à l'étranger, très gênant.",
        ),
    ),
    "credit": (
        (
            "Très bon accompagnement pour mon prêt immobilier.",
            "Offre de crédit claire et rapide.",
            "Simulation de prêt bien expliquée.",
        ),
        (
            "Le dossier de prêt suit son cours.",
            "Proposition de crédit correcte, je compare avec d'autres banques.",
        ),
        (
            "Dossier de prêt bloqué depuis des semaines.",
            "Aucune réponse sur ma demande de crédit.",
            "Conditions de prêt bien moins bonnes qu'annoncé.",
        ),
    ),
    "general": (
        (
            "Très satisfait de ma banque.",
            "Service client au top.",
            "Je recommande sans hésiter.",
            "Rien à redire, parfait.",
        ),
        (
            "Service correct.",
            "Dans l'ensemble ça va.",
            "Peut mieux faire.",
            "Expérience moyenne.",
        ),
        (
            "Très déçu du service client.",
            "Je vais sérieusement envisager de changer de banque.",
            "Service client catastrophique.",
            "Je ne recommande pas cette banque.",
        ),
    ),
}

_EN: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "attente": (
        ("Very quick answer, hardly any waiting.", "I got through to someone in under a minute.", "Called back within the hour as promised."),
        ("The wait was a bit long but acceptable.", "A few minutes on hold, nothing unusual."),
        ("Over twenty minutes on hold, unacceptable.", "Could not reach anyone, I hung up twice.", "Three days to answer a simple email is far too long."),
    ),
    "conseiller": (
        ("The advisor was friendly and really listened.", "Very professional and patient advisor.", "Knowledgeable agent, clear explanations."),
        ("The advisor did the job.", "Polite but a bit rushed."),
        ("Rude advisor who did not listen.", "The agent did not know my file at all.", "I was transferred without any explanation."),
    ),
    "resolution": (
        ("My issue was fixed right away.", "Sorted in a single call, perfect.", "Everything was solved at the first contact."),
        ("My request is still being processed.", "Partly solved, I will have to call again."),
        ("Still no solution after three calls.", "My problem is still not fixed.", "Nobody was able to help me."),
    ),
    "application": (
        ("The app is easy to use.", "I could do everything in the app, very simple."),
        ("The app works but is a bit slow.", "The online banking is fine, some features are missing."),
        ("The app keeps crashing.", "I cannot log in to my online banking.", "The verification code never arrives by text."),
    ),
    "frais": (
        ("Fees refunded without any discussion, thanks.", "Clear and fair pricing."),
        ("Fees are about average.", "Waiting to see whether the fees will be refunded."),
        ("Unjustified fees taken without notice.", "Bank charges are far too high."),
    ),
    "carte": (
        ("Card blocked within minutes, very responsive.", "New card received quickly."),
        ("The new card should arrive within a week.",),
        ("My card has been blocked for a week.", "Card declined abroad, very embarrassing."),
    ),
    "credit": (
        ("Great support with my mortgage.", "Clear and fast loan offer."),
        ("The loan application is progressing.",),
        ("Loan application stuck for weeks.", "No answer about my loan request."),
    ),
    "general": (
        ("Very happy with my bank.", "Excellent customer service.", "I would definitely recommend."),
        ("Service was OK.", "Average experience overall."),
        ("Very disappointed with customer service.", "I am seriously thinking of changing banks.", "Terrible customer service."),
    ),
}

_OPENERS = {
    "fr": (("Super expérience !", "Parfait."), ("Bonjour.", "Alors,"), ("Franchement,", "Encore une fois,")),
    "en": (("Great experience!",), ("Hello.",), ("Honestly,",)),
}
_CLOSERS = {
    "fr": (("Merci !", "Continuez comme ça."), ("Cordialement.",), ("Très déçu.", "Je vais clôturer mes comptes.")),
    "en": (("Thank you!",), ("Regards.",), ("So disappointed.",)),
}
_BANKS = {"fr": _FR, "en": _EN}


def _fragment_tones() -> dict[str, int]:
    out: dict[str, int] = {}
    for lang, bank in _BANKS.items():
        parts = [bank[topic] for topic in TOPICS] + [_OPENERS[lang], _CLOSERS[lang]]
        for by_tone in parts:
            for tone, fragments in enumerate(by_tone):
                for f in fragments:
                    if out.setdefault(f, tone) != tone:
                        raise ValueError(f"fragment {f!r} is in two tones")
    return out


#: Every fragment of the bank and its tone (each fragment belongs to one tone only).
FRAGMENT_TONE: dict[str, int] = _fragment_tones()
_BY_LENGTH = sorted(FRAGMENT_TONE, key=len, reverse=True)


def tone_of(text: str) -> str | None:
    """The tone of a verbatim made by this module ("positive", "neutral", "negative")."""
    for fragment in _BY_LENGTH:
        if fragment in text:
            return TONES[FRAGMENT_TONE[fragment]]
    return None


def compose(
    language: np.ndarray, tone: np.ndarray, topic: np.ndarray, second_topic: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """One verbatim per row. ``second_topic`` < 0 means a single sentence."""
    n = tone.size
    u = rng.random((n, 5)).tolist()
    langs = ("fr", "en")
    out: list[str] = []
    for i, (lg, tn, tp, tp2) in enumerate(zip(language.tolist(), tone.tolist(), topic.tolist(), second_topic.tolist())):
        lang = langs[lg]
        bank = _BANKS[lang]
        ui = u[i]
        parts: list[str] = []
        if ui[0] < 0.25:
            ops = _OPENERS[lang][tn]
            parts.append(ops[int(ui[1] * len(ops))])
        main = bank[TOPICS[tp]][tn]
        parts.append(main[int(ui[2] * len(main))])
        if tp2 >= 0 and tp2 != tp:
            sec = bank[TOPICS[tp2]][tn]
            parts.append(sec[int(ui[3] * len(sec))])
        if ui[4] < 0.2:
            cl = _CLOSERS[lang][tn]
            parts.append(cl[int(ui[1] * len(cl))])
        out.append(" ".join(parts))
    return out
