"""Sign-in with a throttle: repeated failures for one username or one address lock it briefly."""

from __future__ import annotations

import hashlib

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


def _keys(request: HttpRequest, username: str) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"signin-fail:user:{digest}", f"signin-fail:addr:{address}"]


def is_locked(request: HttpRequest, username: str) -> bool:
    return any((cache.get(key) or 0) >= MAX_FAILURES for key in _keys(request, username))


def record_failure(request: HttpRequest, username: str) -> None:
    for key in _keys(request, username):
        cache.add(key, 0, LOCK_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, LOCK_SECONDS)


def clear_failures(request: HttpRequest, username: str) -> None:
    cache.delete_many(_keys(request, username))


class ThrottledLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        if is_locked(request, username):
            form = self.get_form()
            form.errors.clear()
            context = self.get_context_data(form=form, locked=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        record_failure(self.request, str(form.data.get("username", ""))[:150])
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        clear_failures(self.request, form.get_user().get_username())
        return super().form_valid(form)
