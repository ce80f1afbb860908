"""Contract pages, included from market/urls.py under /contracts/ (with the payment pages of
market/payments/urls.py, in the same "contracts" namespace)."""

from django.urls import path

from . import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list, name="list"),
    path("<int:pk>/", views.contract_detail, name="detail"),
    path("request/<int:request_pk>/", views.request_contracts, name="for-request"),
    # The two parties.
    path("<int:pk>/confirm/", views.contract_confirm, name="confirm"),
    path("<int:pk>/refuse/", views.contract_refuse, name="refuse"),
    path("<int:pk>/terms/", views.contract_terms, name="terms"),
    path("<int:pk>/deliveries/", views.delivery_create, name="delivery-create"),
    path("<int:pk>/deliveries/<int:number>/review/", views.delivery_review, name="delivery-review"),
    path("<int:pk>/files/<int:file_id>/", views.deliverable_file, name="deliverable-file"),
    path("<int:pk>/extensions/", views.extension_create, name="extension-create"),
    path("<int:pk>/extensions/<int:ext_id>/decide/", views.extension_decide, name="extension-decide"),
    # The owner (cancel also regulators).
    path("<int:pk>/cancel/", views.contract_cancel, name="cancel"),
    path("<int:pk>/close/", views.contract_close, name="close"),
    path("<int:pk>/runner-up/", views.runner_up, name="runner-up"),
    path("<int:pk>/new-round/", views.new_round, name="new-round"),
    path("<int:pk>/evaluation/", views.evaluation_create, name="evaluation-create"),
    # Regulators.
    path("<int:pk>/evaluation/visibility/", views.evaluation_hide, name="evaluation-hide"),
]
