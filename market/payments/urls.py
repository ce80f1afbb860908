"""Payment pages of a contract, under /contracts/ and in the "contracts" URL namespace beside the
contract's own pages (market/urls.py puts the two lists together)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/pay/", views.payment_start, name="pay"),
    path("<int:pk>/payment/sync/", views.payment_sync, name="payment-sync"),
    path("<int:pk>/payment/refund/", views.payment_refund, name="payment-refund"),
]
