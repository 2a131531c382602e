"""Service error messages in Spanish, for the panel only (the API's bodies stay in the contract's
exact English).

A service raises an English sentence, often with values in it (``Commerce 'X' not found``). The
table is keyed by the English *template*, each ``{}`` standing for one value; the Spanish
template takes the same values in the same order (``{0}``, ``{1}`` to reorder them). A message is
matched against every template (the one with the most fixed text first); each value captured is
translated in turn, so composite sentences (``field: rule``, ``… (and 2 more)``, an import's
``line 3: …``) come out whole. A message matching no template is shown as it came.

``tests/web/test_service_messages.py`` collects every message the services can raise from the
source (the raise sites and their constants) and checks that each one has an entry here.
"""

from __future__ import annotations

import re
from functools import lru_cache

SPANISH_SERVICE_MESSAGES: dict[str, str] = {
    # Shapes that wrap another message.
    "{}: {}": "{}: {}",
    "{} (and {} more)": "{} (y {} más)",
    "{}; nothing was imported": "{}; no se importó nada",
    "line {}: {}": "línea {}: {}",
    # Rules of fields (pydantic's, in the contract's words, and the services' own).
    "is required": "es obligatorio",
    "is not a known field": "no es un campo conocido",
    "must be one of {}": "debe ser uno de {}",
    "malformed JSON ({})": "JSON mal formado ({})",
    "must be at most {} characters": "debe tener como máximo {} caracteres",
    "must be at least {} characters": "debe tener al menos {} caracteres",
    "must be at least {}": "debe ser al menos {}",
    "must be at most {}": "debe ser como máximo {}",
    "must be greater than {}": "debe ser mayor que {}",
    "must be less than {}": "debe ser menor que {}",
    "must not be blank": "no puede estar en blanco",
    "must not be null": "no puede ser nulo",
    "must be true or false": "debe ser true o false",
    "must be an email address": "debe ser una dirección de correo",
    "must be a date and time": "debe ser una fecha y hora",
    "must be in the future": "debe estar en el futuro",
    "must be a whole number of seconds": "debe ser un número entero de segundos",
    "must be a task id (a UUID)": "debe ser un id de tarea (un UUID)",
    "must be a tenant id (UUID)": "debe ser un id de empresa (UUID)",
    "must be an ISO 8601 timestamp with a time zone (Z or +hh:mm)": (
        "debe ser una marca de tiempo ISO 8601 con zona horaria (Z o +hh:mm)"
    ),
    "must not contain the NUL character (\\u0000)": "no puede contener el carácter NUL (\\u0000)",
    "must not contain line breaks": "no puede contener saltos de línea",
    "must be an HTTP header name (letters, digits and '-', at most 64)": (
        "debe ser un nombre de cabecera HTTP (letras, dígitos y '-', como máximo 64)"
    ),
    "must be 1 to {} printable characters": "debe tener de 1 a {} caracteres imprimibles",
    "must be after `from`": "debe ser posterior a `from`",
    "must name at least one permission": "debe nombrar al menos un permiso",
    "must not be after the creating key's expiry ({})": (
        "no puede ser posterior al vencimiento de la clave que la crea ({})"
    ),
    "must list every active code once; missing: {}": (
        "debe listar cada código activo una vez; faltan: {}"
    ),
    "must be a comma-separated list of: {}": "debe ser una lista separada por comas de: {}",
    "is an alias of per_page: send one of them, or both with the same value": (
        "es un alias de per_page: envía uno de los dos, o ambos con el mismo valor"
    ),
    "is not a cursor this server issued; pass meta.nextCursor (or an event's id) unchanged": (
        "no es un cursor emitido por este servidor; pasa meta.nextCursor (o el id de un evento) "
        "sin cambios"
    ),
    "check value mismatch": "el valor de control no coincide",
    "is invalid, expired or already used": "no es válido, venció o ya se usó",
    "is required with a bearer token": "es obligatorio con un token bearer",
    "is not your current password": "no es tu contraseña actual",
    "choose a result": "elige un resultado",
    "cannot be changed: codes are immutable; create a new result type and archive this one": (
        "no se puede cambiar: los códigos son inmutables; crea un tipo de resultado nuevo y "
        "archiva este"
    ),
    "the cursor is older than the {} days events are kept; resynchronise from the task list "
    "(GET /api/integration/activities/tasks), then read the feed again without `after`": (
        "el cursor es más antiguo que los {} días que se guardan los eventos; vuelve a "
        "sincronizar desde la lista de tareas (GET /api/integration/activities/tasks) y lee el "
        "flujo otra vez sin `after`"
    ),
    # Not found.
    "Not found": "No encontrado",
    "Route not found": "Ruta no encontrada",
    "Commerce '{}' not found": "Comercio '{}' no encontrado",
    "Operator '{}' not found": "Operador '{}' no encontrado",
    "Activity '{}' not found": "Actividad '{}' no encontrada",
    "Activity with provider_activity_id '{}' not found": (
        "No hay actividad con provider_activity_id '{}'"
    ),
    "Task '{}' not found": "Tarea '{}' no encontrada",
    "API key '{}' not found": "Clave API '{}' no encontrada",
    "Result type '{}' not found": "Tipo de resultado '{}' no encontrado",
    "Dispatch config '{}' not found": "Configuración de despacho '{}' no encontrada",
    "Delivery '{}' not found": "Envío '{}' no encontrado",
    "Tenant '{}' not found": "Empresa '{}' no encontrada",
    "User '{}' not found": "Usuario '{}' no encontrado",
    "User '{}' not found in this tenant": "Usuario '{}' no encontrado en esta empresa",
    "Invitation '{}' not found": "Invitación '{}' no encontrada",
    "Event endpoint '{}' not found": "Endpoint de eventos '{}' no encontrado",
    "Event delivery '{}' not found": "Envío de evento '{}' no encontrado",
    # Conflicts and refusals.
    "Method not allowed": "Método no permitido",
    "Insufficient permissions": "Permisos insuficientes",
    "API key missing or invalid": "Clave API ausente o no válida",
    "Request body too large": "El cuerpo de la petición es demasiado grande",
    "Internal error (request id {})": "Error interno (id de petición {})",
    "Rate limit exceeded ({}): retry in {} s": (
        "Se superó el límite de peticiones ({}): reintenta en {} s"
    ),
    "Too many failed sign-ins; try again later": (
        "Demasiados intentos fallidos; inténtalo más tarde"
    ),
    "You do not have permission to do this": "No tienes permiso para hacer esto",
    "You are not a member of this tenant": "No perteneces a esta empresa",
    "Your account has no tenant; ask an administrator": (
        "Tu cuenta no pertenece a ninguna empresa; pídele acceso a un administrador"
    ),
    "The form has expired or did not come from this site; please try again": (
        "El formulario expiró o no vino de este sitio; inténtalo de nuevo"
    ),
    "You cannot grant the role {}: it is above your own": (
        "No puedes otorgar el rol {}: está por encima del tuyo"
    ),
    "You can only manage users whose role is below your own": (
        "Solo puedes gestionar usuarios cuyo rol esté por debajo del tuyo"
    ),
    "This account also belongs to another tenant; only its owner can change it": (
        "Esta cuenta también pertenece a otra empresa; solo su dueño puede cambiarla"
    ),
    "You cannot deactivate yourself": "No puedes desactivarte a ti mismo",
    "This person is the last active ADMIN of a tenant; make someone else ADMIN there first": (
        "Esta persona es el último ADMIN activo de una empresa; haz ADMIN a otra persona primero"
    ),
    "'{}' is already a user of this tenant": "'{}' ya es usuario de esta empresa",
    "'{}' already has an account; invite it to this tenant instead": (
        "'{}' ya tiene una cuenta; invítala a esta empresa en su lugar"
    ),
    "No account has the email '{}'; create the user instead": (
        "Ninguna cuenta tiene el correo '{}'; crea el usuario en su lugar"
    ),
    "You already belong to this tenant": "Ya perteneces a esta empresa",
    "This invitation is for another account": "Esta invitación es para otra cuenta",
    "Invitation '{}' was already accepted": "La invitación '{}' ya fue aceptada",
    "Tenant slug '{}' is already taken": "El identificador de empresa '{}' ya está en uso",
    "unknown IANA time zone '{}'": "zona horaria IANA desconocida '{}'",
    "unknown permission '{}'; valid: {}": "permiso desconocido '{}'; válidos: {}",
    "'{}' is a platform permission; a tenant's key holds at most what the tenant's ADMIN holds": (
        "'{}' es un permiso de la plataforma; la clave de una empresa tiene como máximo lo que "
        "tiene su ADMIN"
    ),
    "A key can only grant permissions its creator has; missing: {}": (
        "Una clave solo puede otorgar permisos que tiene quien la crea; faltan: {}"
    ),
    "external id '{}' repeats item {}": "el id externo '{}' repite el elemento {}",
    "operator {} '{}' repeats item {}": "el operador {} '{}' repite el elemento {}",
    "'{}' matches several operators ({})": "'{}' coincide con varios operadores ({})",
    "An activity with idempotency_key '{}' already exists: {}": (
        "Ya existe una actividad con idempotency_key '{}': {}"
    ),
    "provider_activity_id '{}' is already used by activity {}": (
        "provider_activity_id '{}' ya lo usa la actividad {}"
    ),
    "Activity '{}' cannot move from {} to {}": "La actividad '{}' no puede pasar de {} a {}",
    "Activity '{}' is {}; it is not sent any more": "La actividad '{}' está {}; ya no se envía",
    "Activity '{}' is {}; only READY or FAILED tasks can be dispatched": (
        "La actividad '{}' está {}; solo se despachan tareas READY o FAILED"
    ),
    "Activity '{}' is CANCELED; send hard_override: true to record a result": (
        "La actividad '{}' está CANCELED; envía hard_override: true para registrar un resultado"
    ),
    "Activity '{}' already has a final result ({}); send hard_override: true to replace it": (
        "La actividad '{}' ya tiene un resultado final ({}); envía hard_override: true para "
        "reemplazarlo"
    ),
    "one of activity_id or provider_activity_id is required": (
        "se requiere activity_id o provider_activity_id"
    ),
    "is required for result '{}'": "es obligatorio para el resultado '{}'",
    "must be in the future for result '{}'": "debe estar en el futuro para el resultado '{}'",
    "commerce '{}' is not the commerce of activity '{}'": (
        "el comercio '{}' no es el comercio de la actividad '{}'"
    ),
    "unknown result code '{}'; valid codes: {}": (
        "código de resultado desconocido '{}'; códigos válidos: {}"
    ),
    'unknown result code \'{}\'; send the code "{}", not the label "{}"; valid codes: {}': (
        'código de resultado desconocido \'{}\'; envía el código "{}", no la etiqueta "{}"; '
        "códigos válidos: {}"
    ),
    "none are configured": "no hay ninguno configurado",
    "Idempotency-Key was already used with a different request body": (
        "La Idempotency-Key ya se usó con otro cuerpo de petición"
    ),
    "A request with this Idempotency-Key is still being processed": (
        "Una petición con esta Idempotency-Key aún se está procesando"
    ),
    "'{}' is not an active code of this tenant": "'{}' no es un código activo de esta empresa",
    "Result type code '{}' already exists in this tenant": (
        "El código de tipo de resultado '{}' ya existe en esta empresa"
    ),
    "code '{}' is listed more than once": "el código '{}' aparece más de una vez",
    "Result type '{}' is used by results and cannot be deleted; archive it instead": (
        "El tipo de resultado '{}' lo usan resultados y no se puede eliminar; archívalo en su lugar"
    ),
    # Dispatch configs and the endpoint guard (SSRF).
    "'{}' is set by taskbridge and cannot be configured": (
        "'{}' lo fija taskbridge y no se puede configurar"
    ),
    "is required with auth_header_name": "es obligatorio junto con auth_header_name",
    "is required with auth_header_value": "es obligatorio junto con auth_header_value",
    "is required for the WEBHOOK provider": "es obligatorio para el proveedor WEBHOOK",
    "cannot be set without auth_header_name": "no se puede fijar sin auth_header_name",
    "Channel {} already has an active dispatch config ({}); deactivate it first": (
        "El canal {} ya tiene una configuración de despacho activa ({}); desactívala primero"
    ),
    "Channel {} already has an active dispatch config": (
        "El canal {} ya tiene una configuración de despacho activa"
    ),
    "No active dispatch config for channel {}": (
        "No hay una configuración de despacho activa para el canal {}"
    ),
    "The dispatch config of delivery '{}' is inactive or deleted": (
        "La configuración de despacho del envío '{}' está inactiva o eliminada"
    ),
    "Delivery '{}' is being sent right now": "El envío '{}' se está enviando en este momento",
    "is not a valid URL": "no es una URL válida",
    "must be an http or https URL": "debe ser una URL http o https",
    "must name a host": "debe nombrar un host",
    "must not carry credentials; use the auth header instead": (
        "no puede llevar credenciales; usa la cabecera de autenticación"
    ),
    "must not use port 0": "no puede usar el puerto 0",
    "resolves to a private, loopback or link-local address ({}); the platform operator can "
    "allow these with {}=true": (
        "apunta a una dirección privada, de loopback o de enlace local ({}); el operador de la "
        "plataforma puede permitirlas con {}=true"
    ),
    "host '{}' cannot be resolved": "no se puede resolver el host '{}'",
    "Access token missing, invalid or expired": "Token de acceso ausente, no válido o vencido",
    "is not a cursor this server issued; pass meta.nextCursor unchanged": (
        "no es un cursor emitido por este servidor; pasa meta.nextCursor sin cambios"
    ),
    # Event endpoints.
    "A tenant has at most {} event endpoints; delete one first": (
        "Una empresa tiene como máximo {} endpoints de eventos; elimina uno primero"
    ),
    "Event delivery '{}' is being sent right now": (
        "El envío de evento '{}' se está enviando en este momento"
    ),
    "Event endpoint '{}' is disabled ({}); enable it first": (
        "El endpoint de eventos '{}' está deshabilitado ({}); habilítalo primero"
    ),
    "disabled by an administrator": "deshabilitado por un administrador",
    "every attempt failed since {} (over {} days); last error: {}": (
        "todos los intentos fallaron desde {} (más de {} días); último error: {}"
    ),
    "The event of delivery '{}' is past retention; not sent again": (
        "El evento del envío '{}' superó su retención; no se vuelve a enviar"
    ),
    # CSV imports.
    "choose a CSV file to import": "elige un archivo CSV para importar",
    "the file is larger than 5 MB": "el archivo pesa más de 5 MB",
    "the file is not UTF-8 text": "el archivo no es texto UTF-8",
    "column '{}' appears twice": "la columna '{}' aparece dos veces",
    "unknown column '{}'": "columna desconocida '{}'",
    "missing column '{}'": "falta la columna '{}'",
    "{}; the header must be {}": "{}; la cabecera debe ser {}",
    "has {} values but the header has {} columns": (
        "tiene {} valores pero la cabecera tiene {} columnas"
    ),
    "the header row is missing; it must be {}": "falta la fila de cabecera; debe ser {}",
    "unreadable CSV ({})": "CSV ilegible ({})",
    "idempotency_key '{}' repeats line {}": "idempotency_key '{}' repite la línea {}",
    "provider_activity_id '{}' repeats line {}": "provider_activity_id '{}' repite la línea {}",
    "{} repeats line {}": "{} repite la línea {}",
    "external_id '{}'": "external_id '{}'",
    "operator {} '{}'": "operador {} '{}'",
}
"""English template -> Spanish template (``{}``: a value, translated in turn when it can be)."""

HOLE = "{}"


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """Every template as an anchored pattern, the most fixed text first (so ``{}: {}`` and the
    other wrappers are tried last)."""
    by_fixed_text = sorted(
        SPANISH_SERVICE_MESSAGES.items(), key=lambda pair: -len(pair[0].replace(HOLE, ""))
    )
    return [
        (re.compile("(.*?)".join(re.escape(p) for p in english.split(HOLE)) + r"\Z", re.S), es)
        for english, es in by_fixed_text
    ]


def to_spanish(message: str, depth: int = 0) -> str | None:
    """The Spanish of a service message, or None when no template matches it."""
    if depth > 4:
        return None
    for pattern, spanish in _patterns():
        found = pattern.match(message)
        if found is None:
            continue
        values = [to_spanish(v, depth + 1) or v for v in found.groups()]
        return spanish.format(*values)
    return None
