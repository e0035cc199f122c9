"""The portal's URL patterns, namespace ``portal_access``: include them where
``PORTAL_ACCESS["URL"]`` points::

    urlpatterns = [path("portal/", include("portal_access.contrib.django.urls")), ...]

==================================  ====================  =========================================
path                                name                  who
==================================  ====================  =========================================
``""``                              ``dashboard``         full access: the account summary
``join/<offer>/``                   ``join``              anyone: an offer's kickoff form (000)
``invitation/?token=``              ``invitation``        the invitation link (registration)
``set-password/?token=``            ``set_password``      "send portal instructions" (seed 003)
``reset-password/?token=``          ``reset_password``    the "Having trouble?" link
``login/``, ``change-password/``,   ``login``, ...        email + password (seed 003)
``logout/`` (POST)
``having-trouble/``                 ``having_trouble``    anyone (seed 000)
``register/``                       ``register``          invoice-verified self-registration (001)
``document/?token=``                ``document``          the link in every document (seed 004)
``document/pdf/``,                  ``document_pdf``,     its PDF, and "pay this document" (POST)
``document/pay/``                   ``document_pay``
``quick-pay/``, ``quick-pay/done/`` ``quick_pay``, ...    guests (seed 001)
``pay/``, ``pay/checkout/`` (POST)  ``pay_invoice``, ...  contacts whose required invoice is open
``renew/``, ``resubscribe/?token=`` ``renew``, ...        after a failed renewal (seed 000)
``webhooks/<gateway>``              ``webhook``           the gateways (POST, no CSRF token)
``sandbox/...``                     ``sandbox_*``         with the sandbox gateway only
``portal.css``                      ``stylesheet``        the pages' stylesheet
``portal.js``                       ``script``            the pages' script (the Print button)
==================================  ====================  =========================================

The webhook path takes no trailing slash (a vendor does not follow ``APPEND_SLASH``'s
redirect of a POST), and accepts one.
"""

from __future__ import annotations

from django.urls import path, re_path

from portal_access.contrib.django import views
from portal_access.contrib.django._settings import LINK_PATHS

__all__ = ["app_name", "urlpatterns"]

app_name = "portal_access"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("join/<str:offer_id>/", views.join, name="join"),
    path(LINK_PATHS["invitation"], views.invitation, name="invitation"),
    path(LINK_PATHS["set_password"], views.set_password, name="set_password"),
    path(LINK_PATHS["reset_password"], views.reset_password, name="reset_password"),
    path("login/", views.login, name="login"),
    path("change-password/", views.change_password, name="change_password"),
    path("logout/", views.logout, name="logout"),
    path("having-trouble/", views.having_trouble, name="having_trouble"),
    path("register/", views.register, name="register"),
    path("pay/", views.pay_invoice, name="pay_invoice"),
    path("pay/checkout/", views.checkout, name="checkout"),
    path("renew/", views.renew, name="renew"),
    path(LINK_PATHS["resubscribe"], views.resubscribe, name="resubscribe"),
    path(LINK_PATHS["document"], views.document, name="document"),
    path(LINK_PATHS["document"] + "pdf/", views.document_pdf, name="document_pdf"),
    path(LINK_PATHS["document"] + "pay/", views.document_pay, name="document_pay"),
    path("quick-pay/", views.quick_pay, name="quick_pay"),
    path("quick-pay/done/", views.quick_pay_done, name="quick_pay_done"),
    re_path(r"^webhooks/(?P<gateway>[A-Za-z0-9_-]+)/?$", views.webhook, name="webhook"),
    path("sandbox/checkout/<str:session_id>/", views.sandbox_checkout, name="sandbox_checkout"),
    path("sandbox/contacts/<str:contact_id>/", views.sandbox_console, name="sandbox_console"),
    path(
        "sandbox/contacts/<str:contact_id>/payments/<str:payment_id>/",
        views.sandbox_settle,
        name="sandbox_settle",
    ),
    path(
        "sandbox/contacts/<str:contact_id>/subscriptions/<str:subscription_id>/",
        views.sandbox_renew,
        name="sandbox_renew",
    ),
    path("portal.css", views.stylesheet, name="stylesheet"),
    path("portal.js", views.script, name="script"),
]
