from django.urls import path

from ..opendata import api as ocds_api
from market.accounts import api as views
from market.catalogue import api as catalogue_api

app_name = "api"

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("service-items/", catalogue_api.ServiceItemListView.as_view(), name="service-item-list"),
    path("service-items/<str:code>/", catalogue_api.ServiceItemDetailView.as_view(), name="service-item-detail"),
    path("ocds/releases/", ocds_api.ReleasePackageView.as_view(), name="ocds-releases"),
    path("ocds/records/<str:ocid>/", ocds_api.RecordPackageView.as_view(), name="ocds-record"),
]

# Contracts, delivery, payment and evaluations (market/contracts/api.py, market/payments/api.py).
from ..contracts import api as contract_api  # noqa: E402
from ..payments import api as payment_api  # noqa: E402

urlpatterns += [
    path("contracts/", contract_api.ContractListView.as_view(), name="contract-list"),
    path("contracts/<int:pk>/", contract_api.ContractDetailView.as_view(), name="contract-detail"),
    path("contracts/<int:pk>/confirm/", contract_api.ContractConfirmView.as_view(), name="contract-confirm"),
    path("contracts/<int:pk>/refuse/", contract_api.ContractRefuseView.as_view(), name="contract-refuse"),
    path("contracts/<int:pk>/deliveries/", contract_api.DeliveryCreateView.as_view(), name="contract-deliveries"),
    path("contracts/<int:pk>/files/<int:file_id>/", contract_api.DeliverableFileView.as_view(), name="contract-file"),
    path("contracts/<int:pk>/deliveries/<int:number>/accept/", contract_api.DeliveryAcceptView.as_view(),
         name="contract-delivery-accept"),
    path("contracts/<int:pk>/deliveries/<int:number>/return/", contract_api.DeliveryReturnView.as_view(),
         name="contract-delivery-return"),
    path("contracts/<int:pk>/extensions/", contract_api.ExtensionCreateView.as_view(), name="contract-extensions"),
    path("contracts/<int:pk>/extensions/<int:ext_id>/decide/", contract_api.ExtensionDecideView.as_view(),
         name="contract-extension-decide"),
    path("contracts/<int:pk>/payment/", payment_api.PaymentStartView.as_view(), name="contract-payment"),
    path("payments/stripe/webhook/", payment_api.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("evaluations/", contract_api.EvaluationListCreateView.as_view(), name="evaluation-list"),
    path("evaluations/summary/<int:agency_id>/", contract_api.EvaluationSummaryView.as_view(),
         name="evaluation-summary"),
]
