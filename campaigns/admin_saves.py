"""Admin saves that write only the columns their form shows.

Django's admin saves the whole row it loaded at the start of the request. Services move status,
totals, counts and snapshots in the meantime (a charge landing, staff approving collection, a
supporter upgrading their tier), and a whole-row save writes those columns back as they were when
the form loaded: a charge disappears from "collected", an approval is undone. So an existing
row is saved with `update_fields` limited to the form's own editable model fields; services own
every other column. New rows are inserted whole (nothing else can have written them yet).
"""

from __future__ import annotations


def form_own_fields(form, instance) -> list[str]:
    """The concrete model columns `form` edits (never read-only or service-owned ones), plus
    `updated_at` where the model keeps one."""
    concrete = {
        f.name: f
        for f in instance._meta.concrete_fields
        if not f.primary_key and f.editable is not False
    }
    names = [name for name in form.fields if name in concrete]
    if "updated_at" in {f.name for f in instance._meta.concrete_fields} and names:
        names.append("updated_at")
    return names


def instance_save_own_fields(*, instance, form) -> None:
    """Insert a new row whole; update an existing one only in the form's own columns."""
    if instance._state.adding:
        instance.save()
        return
    fields = form_own_fields(form, instance)
    if fields:
        instance.save(update_fields=fields)


class OwnFieldsSaveMixin:
    """For a ModelAdmin: the change form, list_editable rows and inline rows write only the
    fields they show (see the module docstring)."""

    def save_model(self, request, obj, form, change):
        instance_save_own_fields(instance=obj, form=form)

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for inline_form in formset.saved_forms:
            instance_save_own_fields(instance=inline_form.instance, form=inline_form)
        formset.save_m2m()
