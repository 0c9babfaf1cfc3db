"""Admin for tenancy and the audit log, and the bases every app's admin builds on.

The admin is not a second write path: a ``ServiceAdmin`` saves and deletes through the services
the API and the pages call (audited, checked once), with the admin user as the actor; what no
service writes is a ``ReadOnlyAdmin``, shown to ops and never changed here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from kaireon import services
from kaireon.errors import DomainError
from kaireon.forms import ServiceErrorsMixin
from kaireon.models import ApiKey, AuditLog, Membership, Role, Tenant
from kaireon.principal import Principal

# What a service raises when it refuses a write: caught here and nowhere else in the admin.
SERVICE_ERRORS: tuple[type[Exception], ...] = (DjangoValidationError, DomainError)

# The request attribute carrying a refused save from the first pass of the change form to the
# second, which shows the error beside its field.
_REFUSAL = "_kaireon_admin_refusal"


def admin_actor(request: HttpRequest, tenant: Tenant) -> Principal:
    """The admin user, as the actor of the tenant's audit entries."""
    return Principal(tenant=tenant, role=Role.ADMIN, user=request.user)


class ServiceAdminForm(ServiceErrorsMixin, forms.ModelForm):
    """The admin's form: checks shape only; the service's refusal of a save shows beside its field."""

    refusal: ClassVar[Exception | None] = None

    @classmethod
    def error_location(cls, field: str, rest: str) -> str:
        return f"{field}{rest}"  # the admin shows the model's names: "pipeline[0].rank"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.refusal is not None:
            self.add_service_error(self.refusal)
        return data


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through the services named here (called as the API's viewsets call them,
    with the admin user as actor); a write with no service is not offered, so a ServiceAdmin with
    none is read-only. Inlines of a ServiceAdmin are read-only: the service writes the row alone."""

    form = ServiceAdminForm
    create_service: ClassVar[Callable[..., models.Model] | None] = None
    update_service: ClassVar[Callable[..., models.Model] | None] = None
    delete_service: ClassVar[Callable[..., None] | None] = None
    # service error key → form field, where the service speaks the API's name ("externalId")
    service_fields: ClassVar[Mapping[str, str]] = {}

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.create_service is not None and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.update_service is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.delete_service is not None and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        # No service moves a row to another tenant.
        if obj is not None and "tenant" not in fields and any(f.name == "tenant" for f in self.model._meta.fields):
            fields.append("tenant")
        return fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        aliases = {f"{name}_id": name for name in form.base_fields}
        attrs = {"SERVICE_FIELDS": {**aliases, **self.service_fields}, "refusal": getattr(request, _REFUSAL, None)}
        metaclass: Any = type(form)  # ModelFormMetaclass, as modelform_factory makes the form
        return metaclass(form.__name__, (form,), attrs)

    def tenant_of(self, obj: Any) -> Tenant:
        tenant: Tenant = obj.tenant
        return tenant

    def service_data(self, form: forms.ModelForm, change: bool) -> dict[str, Any]:
        """The form's values as the service takes them: every field for a create, the changed
        ones for a change (as a PATCH: a value left in its box does not count as given)."""
        names = form.changed_data if change else list(form.cleaned_data)
        return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data and name != "tenant"}

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        tenant = self.tenant_of(obj)
        actor = admin_actor(request, tenant)
        data = self.service_data(form, change)
        if change:
            assert self.update_service is not None
            # The form has set its values on ``obj`` already: the service gets the stored row.
            stored = type(obj)._default_manager.get(pk=obj.pk)
            saved = self.update_service(tenant=tenant, actor=actor, instance=stored, data=data)
        else:
            assert self.create_service is not None
            saved = self.create_service(tenant=tenant, actor=actor, data=data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        assert self.delete_service is not None
        self.delete_service(tenant=self.tenant_of(obj), actor=admin_actor(request, self.tenant_of(obj)), instance=obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, set[str], Any]:
        # The service deletes what goes with the row (a flow's versions, a run's chunks): the
        # permission asked is the one to delete the row itself.
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """The bulk action deletes each row through the service, all or none."""
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> Any:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SERVICE_ERRORS as exc:
            # The save was rolled back (the view is atomic): show the form again, the error beside its field.
            setattr(request, _REFUSAL, exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except SERVICE_ERRORS as exc:
            return self._refused(request, exc, "Not deleted")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        try:
            # atomic: Django logs a bulk delete's LogEntry rows before deleting; a refusal rolls
            # them back with the rows, so the history never says "deleted" of a row still there
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except SERVICE_ERRORS as exc:  # the bulk delete, rolled back whole
            return self._refused(request, exc, "Nothing was deleted")

    def _refused(self, request: HttpRequest, exc: Exception, what: str) -> HttpResponse:
        self.message_user(request, f"{what}: {ServiceAdminForm.error_text(exc)}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(ServiceAdmin):
    """Shown, never written here: rows the services and workers own (runs, results, history)."""


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page, each linking to its own."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- tenancy -------------------------------------------------------------------------------


def _tenant_create(*, tenant: Tenant, actor: Principal, data: Mapping[str, Any]) -> Tenant:
    return services.tenant_create(slug=data["slug"], name=data["name"], actor=actor)


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = readonly_fields = ("user", "role", "created_at")


@admin.register(Tenant)
class TenantAdmin(ServiceAdmin):
    list_display = ["name", "slug", "id", "created_at"]
    search_fields = ["name", "slug", "id"]
    readonly_fields = ["id", "audit_head", "catalogue_version", "created_at", "updated_at"]
    inlines = [MembershipInline]
    create_service = staticmethod(_tenant_create)
    update_service = staticmethod(services.tenant_update)

    def tenant_of(self, obj: Any) -> Tenant:
        # A new tenant acts as its own: the actor's tenant is not part of an audit entry.
        tenant: Tenant = obj
        return tenant


def _membership_create(*, tenant: Tenant, actor: Principal, data: Mapping[str, Any]) -> Membership:
    return services.membership_set(tenant=tenant, actor=actor, user=data["user"], role=data["role"])


def _membership_update(
    *, tenant: Tenant, actor: Principal, instance: Membership, data: Mapping[str, Any]
) -> Membership:
    return services.membership_set(tenant=tenant, actor=actor, user=instance.user, role=data.get("role", instance.role))


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]
    create_service = staticmethod(_membership_create)
    update_service = staticmethod(_membership_update)
    delete_service = staticmethod(services.instance_delete)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A membership is one user's role in one tenant: only the role changes.
        return [*super().get_readonly_fields(request, obj), *(["user"] if obj is not None else [])]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are created with the API or ``manage.py createapikey`` (the secret is shown once) and
    revoked, never deleted (the audit trail names them)."""

    list_display = ["name", "prefix", "tenant", "role", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "id"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.select_related("tenant"))
        for key in keys:
            services.api_key_revoke(tenant=key.tenant, actor=admin_actor(request, key.tenant), key=key)
        self.message_user(request, f"Revoked {len(keys)} API key(s).", messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Read-only: the chain is append-only and any edit would break it."""

    list_display = ["created_at", "tenant", "actor_label", "action", "object_type", "object_id", "object_repr"]
    list_filter = ["action", "object_type", "actor_type", "tenant"]
    search_fields = ["object_id", "object_repr", "actor_label", "reason"]
    date_hierarchy = "created_at"
