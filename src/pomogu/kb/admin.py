from django.contrib import admin

from pomogu.kb.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "language", "visibility", "published", "team", "updated_at")
    list_filter = ("published", "visibility", "language", "team")
    search_fields = ("title", "slug")
    list_select_related = ("team",)
    raw_id_fields = ("author",)
    readonly_fields = ("created_at", "updated_at")
