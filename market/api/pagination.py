from rest_framework.pagination import PageNumberPagination

from .serializers import ErrorSerializer

PAGE_NOT_FOUND = {404: ErrorSerializer}  # the responses of a paged list: a page past its end is a 404


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
