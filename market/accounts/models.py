"""Accounts: people, regions, organizations and their members."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from market.core.uscc import validate_uscc


class User(AbstractUser):
    """A person. One account may belong to several organizations with a role in each."""

    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    def check_password(self, raw_password) -> bool:
        """Every check of this account's password counts against the login lockout (market/lockout.py)."""
        from market.core.lockout import check_password_guarded  # the lockout's backend needs the auth app, loaded after models

        def check() -> bool:
            self._rehashing = True  # a hash upgraded on log-in keeps the password, and the API tokens
            try:
                return super(User, self).check_password(raw_password)
            finally:
                self._rehashing = False

        return check_password_guarded(self.get_username(), check)

    def set_password(self, raw_password) -> None:
        super().set_password(raw_password)
        if not getattr(self, "_rehashing", False):
            self._revoke_tokens = True

    def save(self, *args, **kwargs) -> None:
        new = self._state.adding  # a new account has no token yet
        super().save(*args, **kwargs)
        if getattr(self, "_revoke_tokens", False) and not new:
            # A new password ends every API token of the account (sessions end by Django's session hash).
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()
        self._revoke_tokens = False

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Region(models.Model):
    """A GB/T 2260 administrative division (province, prefecture, county, or a town of a
    prefecture without counties, such as Dongguan)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("province")
        PREFECTURE = "prefecture", _("prefecture")
        COUNTY = "county", _("county")
        TOWN = "town", _("town")

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    full_name = models.CharField(_("full name"), max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.full_name or self.name

    @property
    def prefecture_code(self) -> str:
        return self.code[:4] + "00"


class Organization(models.Model):
    """A project owner, an agency or a regulator, identified by its USCC."""

    class Kind(models.TextChoices):
        OWNER = "owner", _("project owner")
        AGENCY = "agency", _("agency")
        REGULATOR = "regulator", _("regulator")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting verification")
        VERIFIED = "verified", _("verified")
        REJECTED = "rejected", _("rejected")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    uscc = models.CharField(_("unified social credit code"), max_length=18, validators=[validate_uscc])
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organizations", verbose_name=_("region"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=64, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    status_comment = models.TextField(_("verification comment"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    members = models.ManyToManyField(User, through="Membership", related_name="organizations")

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(fields=["kind", "uscc"], name="organization_unique_uscc_per_kind"),
        ]
        # The agency directory lists by name: at 100,000 agencies it reads the first rows of this index
        # instead of sorting every organization (see README, "Benchmark at large scale").
        indexes = [models.Index(fields=["name"], name="organization_name_idx")]
        permissions = [
            ("act_for_organization", _("Can act for the organization")),
            ("manage_organization", _("Can manage the organization's profile and members")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED


class OrganizationUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key object permissions (guardian) for organizations."""

    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("administrator")
        STAFF = "staff", _("staff")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"
