"""Marketers' pages of the preference center: the topics customers may choose, and what
customers told us they value."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import pages, preferences, queries
from customers.models import Topic, ValueQuestion


class TopicForm(forms.ModelForm):
    """A topic's name, what it is about, and whether customers are offered it."""

    class Meta:
        model = Topic
        fields = ["name", "description", "is_active"]
        labels = {"is_active": "Offered on the preference center"}


@require_http_methods(["GET", "POST"])
def topics(request: HttpRequest) -> HttpResponse:
    """The topics, how many customers chose each, and a form to add one."""
    pages.marketers_only(request)
    form = TopicForm(request.POST or None)
    if request.method == "POST" and _saved(form, Topic()):
        messages.success(
            request, gettext("Topic “%(name)s” added.") % {"name": form.cleaned_data["name"]}
        )
        return redirect("customers:topics")
    rows = Topic.objects.annotate(chosen_by=Count("customers")).order_by("name")
    status = 400 if form.errors else 200
    context = {"topics": rows, "form": form}
    return render(request, "customers/topics.html", context, status=status)


@require_POST
def topic_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename a topic, say what it is about, or stop offering it."""
    pages.marketers_only(request)
    topic = get_object_or_404(Topic, pk=pk)
    form = TopicForm(request.POST, instance=topic)
    if _saved(form, topic):
        messages.success(request, gettext("Topic “%(name)s” saved.") % {"name": topic.name})
        return redirect("customers:topics")
    rows = Topic.objects.annotate(chosen_by=Count("customers")).order_by("name")
    context = {"topics": rows, "form": TopicForm(), "edit_form": form, "editing": topic.pk}
    return render(request, "customers/topics.html", context, status=400)


def _saved(form: TopicForm, topic: Topic) -> bool:
    if not form.is_valid():
        return False
    try:
        preferences.save_topic(
            topic=topic,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            is_active=form.cleaned_data["is_active"],
        )
    except ValidationError as error:
        form.add_error(None, error)
        return False
    return True


@require_GET
def value_answers(request: HttpRequest) -> HttpResponse:
    """What customers told us they value, and want more or less of: searchable, newest first."""
    pages.marketers_only(request)
    question = request.GET.get("question", "")
    if question not in ValueQuestion.values:
        question = ""
    search = request.GET.get("q", "").strip()[:200]
    answers = queries.value_answers(
        question=question or None, search=search, number=pages.page_number(request)
    )
    query = urlencode({k: v for k, v in (("q", search), ("question", question)) if v})
    context = {
        "answers": answers,
        "questions": ValueQuestion.choices,
        "question": question,
        "search": search,
        "query": query,
    }
    return render(request, "customers/value_answers.html", context)
