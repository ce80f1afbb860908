"""Uploads are checked by their content, not their name, and served only to those who may see them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from agencies import services
from agencies.models import LicenceFile, Qualification
from market.catalogue.models import QualificationType
from tests.factories import JPEG_BYTES, PDF_BYTES, PNG_BYTES, agency_admin, make_agency, make_regulator, pdf_upload

pytestmark = pytest.mark.django_db
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_renamed_executable_is_refused_and_nothing_is_stored(private_storage_dir):
    agency = make_agency(status="draft")
    before = LicenceFile.objects.filter(agency=agency).count()
    files_before = stored_files(private_storage_dir)
    with pytest.raises(ValidationError) as err:
        services.licence_file_add(actor=agency_admin(agency), agency=agency,
                                  upload=SimpleUploadedFile("营业执照.pdf", EXE, content_type="application/pdf"))
    assert err.value.error_dict["file"][0].code == "file_type"
    assert "program" in str(err.value)
    assert LicenceFile.objects.filter(agency=agency).count() == before
    assert stored_files(private_storage_dir) == files_before


def test_a_file_that_is_not_pdf_jpeg_or_png_is_refused():
    agency = make_agency(status="draft")
    with pytest.raises(ValidationError) as err:
        services.licence_file_add(actor=agency_admin(agency), agency=agency,
                                  upload=SimpleUploadedFile("licence.png", b"GIF89a....", content_type="image/png"))
    assert err.value.error_dict["file"][0].code == "file_type"


def test_a_file_over_ten_megabytes_is_refused(settings):
    agency = make_agency(status="draft")
    big = PDF_BYTES + b"0" * (settings.UPLOAD_MAX_BYTES + 1 - len(PDF_BYTES))
    with pytest.raises(ValidationError) as err:
        services.licence_file_add(actor=agency_admin(agency), agency=agency, upload=SimpleUploadedFile("big.pdf", big))
    assert err.value.error_dict["file"][0].code == "file_too_large"
    exactly = PDF_BYTES + b"0" * (settings.UPLOAD_MAX_BYTES - len(PDF_BYTES))
    doc = services.licence_file_add(actor=agency_admin(agency), agency=agency, upload=SimpleUploadedFile("ok.pdf", exactly))
    assert doc.size == settings.UPLOAD_MAX_BYTES


def test_an_empty_file_is_refused():
    agency = make_agency(status="draft")
    with pytest.raises(ValidationError):
        services.licence_file_add(actor=agency_admin(agency), agency=agency, upload=SimpleUploadedFile("x.pdf", b""))


@pytest.mark.parametrize("content,ctype,ext", [(PDF_BYTES, "application/pdf", "pdf"), (JPEG_BYTES, "image/jpeg", "jpg"),
                                               (PNG_BYTES, "image/png", "png")])
def test_pdf_jpeg_and_png_are_accepted_and_named_by_their_content(content, ctype, ext):
    agency = make_agency(status="draft")
    doc = services.licence_file_add(actor=agency_admin(agency), agency=agency,
                                    upload=SimpleUploadedFile("scan.exe", content, content_type="application/x-msdownload"))
    assert doc.content_type == ctype
    assert doc.file.name.endswith(f".{ext}") and doc.file.name.startswith(f"agencies/{agency.pk}/")
    assert doc.original_name == "scan.exe"


def test_a_certificate_scan_is_checked_too():
    agency = make_agency(status="draft")
    today = timezone.localdate()
    with pytest.raises(ValidationError):
        services.qualification_add(actor=agency_admin(agency), agency=agency,
                                   qualification_type=QualificationType.objects.get(code="QT-CH-A"),
                                   certificate_number="C1", issuer="部", valid_from=today,
                                   valid_to=today + dt.timedelta(days=30),
                                   upload=SimpleUploadedFile("cert.jpg", EXE))
    assert not Qualification.objects.filter(agency=agency, certificate_number="C1").exists()


def test_the_registration_page_refuses_a_renamed_executable_with_a_message(client):
    agency = make_agency(status="draft")
    client.force_login(agency_admin(agency))
    count = LicenceFile.objects.filter(agency=agency).count()
    response = client.post(f"/agencies/register/{agency.pk}/licences/",
                           {"action": "add", "kind": "business_licence", "file": SimpleUploadedFile("执照.pdf", EXE)})
    assert response.status_code == 400
    assert "program" in response.content.decode()
    assert LicenceFile.objects.filter(agency=agency).count() == count


def test_the_api_refuses_a_renamed_executable_naming_the_field(api):
    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    response = api.post(f"/api/v1/agencies/{agency.pk}/licence-files/",
                        {"kind": "business_licence", "file": SimpleUploadedFile("licence.pdf", EXE)}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "file" and "program" in body["message"]


def test_files_are_downloaded_as_attachments_with_nosniff(client):
    agency = make_agency(status="draft")
    doc = agency.licence_files.get()
    client.force_login(agency_admin(agency))
    response = client.get(f"/agencies/files/licence/{doc.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_regulators_may_download_registration_documents(client):
    agency = make_agency(status="submitted")
    doc = agency.licence_files.get()
    client.force_login(make_regulator())
    assert client.get(f"/agencies/files/licence/{doc.pk}/").status_code == 200


def test_files_are_never_under_a_public_url(client, private_storage_dir):
    agency = make_agency(status="draft")
    doc = agency.licence_files.get()
    assert (private_storage_dir / doc.file.name).exists()
    assert client.get(f"/media/{doc.file.name}").status_code == 404
    assert client.get(f"/agencies/files/licence/{doc.pk}/").status_code == 302  # anonymous: log in first


def test_nothing_half_written_when_a_step_fails(client, private_storage_dir):
    """A good file with a bad kind: refused before anything is stored."""
    agency = make_agency(status="draft")
    client.force_login(agency_admin(agency))
    before = stored_files(private_storage_dir)
    response = client.post(f"/agencies/register/{agency.pk}/licences/",
                           {"action": "add", "kind": "passport", "file": pdf_upload()})
    assert response.status_code == 400
    assert stored_files(private_storage_dir) == before
