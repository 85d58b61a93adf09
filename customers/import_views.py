"""CSV pages: upload and recent imports, mapping with a preview, progress, result, exports."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from customers import exports, import_check, imports, pages, queries, tasks
from customers.models import ImportJob

JOBS_PAGE_SIZE = 20


class UploadForm(forms.Form):
    """A CSV file and, when detection would guess wrong, its delimiter."""

    file = forms.FileField(
        label=gettext_lazy("CSV file"), help_text=gettext_lazy("UTF-8, with or without a BOM.")
    )
    delimiter = forms.ChoiceField(
        choices=[
            ("", "Detect"),
            (",", "Comma (,)"),
            (";", "Semicolon (;)"),
            ("\t", "Tab"),
            ("|", "Pipe (|)"),
        ],
        required=False,
    )


def _csv_response(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def import_list(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file; below, the recent imports."""
    pages.marketers_only(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.store_upload(
                upload=form.cleaned_data["file"],
                by=request.user,
                delimiter=form.cleaned_data["delimiter"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("customers:import_mapping", pk=job.pk)
    jobs = queries.page_of(
        imports.visible_jobs(request.user), number=pages.page_number(request), size=JOBS_PAGE_SIZE
    )
    status = 400 if form.errors else 200
    return render(
        request, "customers/imports/upload.html", {"form": form, "jobs": jobs}, status=status
    )


def _mapping_page(request: HttpRequest, job: ImportJob, *, errors=(), status=200) -> HttpResponse:
    chosen = job.mapping
    columns = [
        (index, name, chosen.get(str(index), imports.IGNORE))
        for index, name in enumerate(job.header)
    ]
    check = None if errors else import_check.check_import(job=job)
    context = {
        "job": job,
        "columns": columns,
        "fields": imports.FIELD_LABELS.items(),
        "errors": errors,
        "check": check,
        "preview": check.preview if check else import_check.preview_rows(job=job),
        "delimiter_name": imports.DELIMITERS.get(job.delimiter, job.delimiter),
    }
    return render(request, "customers/imports/mapping.html", context, status=status)


def _posted_mapping(request: HttpRequest, job: ImportJob) -> dict[str, str]:
    return {str(i): request.POST.get(f"column-{i}", imports.IGNORE) for i in range(len(job.header))}


def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the field each column fills, with the first rows checked against the choice."""
    pages.marketers_only(request)
    job = imports.job_for(request.user, pk)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED):
        return redirect("customers:import_result", pk=job.pk)
    if request.method == "POST":
        try:
            imports.set_mapping(job=job, mapping=_posted_mapping(request, job))
        except ValidationError as error:
            job.mapping = _posted_mapping(request, job)
            return _mapping_page(request, job, errors=error.messages, status=400)
        messages.success(request, gettext("Mapping saved. The first rows are checked below."))
        return redirect("customers:import_mapping", pk=job.pk)
    return _mapping_page(request, job)


@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the mapping and queue the import; or resume one that failed or stalled."""
    pages.marketers_only(request)
    job = imports.job_for(request.user, pk)
    try:
        if job.status in (ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED):
            imports.set_mapping(job=job, mapping=_posted_mapping(request, job))
        imports.start_import(job=job, run_later=tasks.import_customers_task.delay)
    except ValidationError as error:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED):
            job.mapping = _posted_mapping(request, job)
            return _mapping_page(request, job, errors=error.messages, status=400)
        messages.warning(request, " ".join(error.messages))
    return redirect("customers:import_result", pk=job.pk)


def _progress_context(job: ImportJob) -> dict:
    stalled = (
        job.status == ImportJob.Status.RUNNING
        and job.progressed_at is not None
        and job.progressed_at < timezone.now() - imports.STALLED_AFTER
    )
    return {"job": job, "stalled": stalled}


@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled every second while the import runs; the counts once done."""
    pages.marketers_only(request)
    job = imports.job_for(request.user, pk)
    return render(request, "customers/imports/_progress.html", _progress_context(job))


@require_GET
def import_result(request: HttpRequest, pk: int) -> HttpResponse:
    """One import: its progress while it runs, then what it created, updated and rejected."""
    pages.marketers_only(request)
    job = imports.job_for(request.user, pk)
    if job.status in (ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED):
        return redirect("customers:import_mapping", pk=job.pk)
    return render(request, "customers/imports/result.html", _progress_context(job))


@require_GET
def import_rejected(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The rejected rows as the file had them, with a column saying why."""
    pages.marketers_only(request)
    job = imports.job_for(request.user, pk)
    return _csv_response(imports.rejected_rows_csv(job=job), f"rejected-rows-{job.pk}.csv")


@require_GET
def customer_export(request: HttpRequest) -> HttpResponse:
    """The customer list as CSV, with the list's filters: every customer the user may see."""
    filters, _segment = pages.chosen_customers(request)
    if not filters.is_valid():
        problems = "; ".join(f"{name}: {' '.join(e)}" for name, e in filters.errors.items())
        return HttpResponse(
            f"These filters are not valid: {problems}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    today = timezone.localdate().isoformat()
    return _csv_response(exports.export_csv(customers=filters.qs), f"customers-{today}.csv")
