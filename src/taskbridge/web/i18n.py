"""Panel text in Spanish and English: English is the key, Spanish its translation."""

from __future__ import annotations

from collections.abc import Callable

from taskbridge.web.messages import to_spanish

LANGUAGES = ("es", "en")

SPANISH: dict[str, str] = {
    "Sign in": "Iniciar sesión",
    "Sign out": "Cerrar sesión",
    "Email": "Correo",
    "Password": "Contraseña",
    "Invalid email or password": "Correo o contraseña incorrectos",
    "Too many failed sign-ins; try again later": (
        "Demasiados intentos fallidos; inténtalo más tarde"
    ),
    "Dashboard": "Resumen",
    "Result types": "Tipos de resultado",
    "API keys": "Claves API",
    "Commerces": "Comercios",
    "Operators": "Operadores",
    "Tasks": "Tareas",
    "Results": "Resultados",
    "Users": "Usuarios",
    "Operator screen": "Pantalla de operador",
    "Tenant": "Empresa",
    "Switch": "Cambiar",
    "Language": "Idioma",
    "Save": "Guardar",
    "Add": "Agregar",
    "Edit": "Editar",
    "Archive": "Archivar",
    "Restore": "Restaurar",
    "Delete": "Eliminar",
    "Move up": "Subir",
    "Move down": "Bajar",
    "Code": "Código",
    "Label": "Etiqueta",
    "Label in English": "Etiqueta en inglés",
    "Label in Spanish": "Etiqueta en español",
    "Needs a future date": "Requiere fecha futura",
    "Archived": "Archivado",
    "Active": "Activo",
    "Yes": "Sí",
    "No": "No",
    "Actions": "Acciones",
    "Tasks by status": "Tareas por estado",
    "Results today by result type": "Resultados de hoy por tipo",
    "Recent failures": "Fallos recientes",
    "No failures.": "Sin fallos.",
    "Name": "Nombre",
    "Permissions": "Permisos",
    "Expires": "Vence",
    "Last used": "Último uso",
    "Prefix": "Prefijo",
    "Never": "Nunca",
    "Revoked": "Revocada",
    "Revoke": "Revocar",
    "Create key": "Crear clave",
    "New API key": "Nueva clave API",
    "Copy": "Copiar",
    "Copied": "Copiada",
    "This key is shown only once. Copy it now.": (
        "Esta clave se muestra una sola vez. Cópiala ahora."
    ),
    "Back to the list": "Volver a la lista",
    "Revoke this key? Programs using it stop working at once.": (
        "¿Revocar esta clave? Los programas que la usan dejarán de funcionar al instante."
    ),
    "Cancel": "Cancelar",
    "Search": "Buscar",
    "External id": "Id externo",
    "Tax id": "RUT",
    "Type": "Tipo",
    "Phone": "Teléfono",
    "Import CSV": "Importar CSV",
    "CSV file": "Archivo CSV",
    "Import": "Importar",
    "Import finished": "Importación terminada",
    "Created": "Creados",
    "Updated": "Actualizados",
    "Unchanged": "Sin cambios",
    "Total": "Total",
    "The file was rejected; nothing was imported.": (
        "El archivo fue rechazado; no se importó nada."
    ),
    "Line": "Línea",
    "Problem": "Problema",
    "Status": "Estado",
    "Channel": "Canal",
    "Commerce": "Comercio",
    "Operator": "Operador",
    "Scheduled": "Programada",
    "Reason": "Motivo",
    "Filter": "Filtrar",
    "All": "Todos",
    "New task": "Nueva tarea",
    "Create task": "Crear tarea",
    "Idempotency key": "Clave de idempotencia",
    "Result history": "Historial de resultados",
    "Status events": "Eventos de estado",
    "Cancel task": "Cancelar tarea",
    "Cancel reason": "Motivo de cancelación",
    "From": "De",
    "To": "A",
    "By": "Por",
    "When": "Cuándo",
    "Result": "Resultado",
    "Comment": "Comentario",
    "Follow-up task": "Tarea de seguimiento",
    "Replaced": "Reemplazado",
    "Include replaced results": "Incluir resultados reemplazados",
    "Role": "Rol",
    "Change role": "Cambiar rol",
    "New password": "Nueva contraseña",
    "Reset password": "Restablecer contraseña",
    "Add user": "Agregar usuario",
    "First name": "Nombre",
    "Last name": "Apellido",
    "Pick a task": "Elige una tarea",
    "How did it go?": "¿Cómo resultó?",
    "New date and time": "Nueva fecha y hora",
    "Effective": "Efectiva",
    "Not effective": "No efectiva",
    "Pending": "Pendiente",
    "Outcome": "Resultado de la gestión",
    "Submit": "Enviar",
    "Result recorded": "Resultado registrado",
    "A follow-up task was created for": "Se creó una tarea de seguimiento para",
    "Open the follow-up task": "Abrir la tarea de seguimiento",
    "Back to the tasks": "Volver a las tareas",
    "No tasks to work on.": "No hay tareas por gestionar.",
    "Required for": "Requerida para",
    "Choose a result": "Elige un resultado",
    "Previous": "Anterior",
    "Next": "Siguiente",
    "Page": "Página",
    "of": "de",
    "Nothing here yet.": "Aún no hay nada aquí.",
    "Not found": "No encontrado",
    "Forbidden": "Prohibido",
    "Something went wrong": "Algo salió mal",
    "Go to the dashboard": "Ir al resumen",
    "Temporarily unavailable": "No disponible por un momento",
    "The service cannot use its database right now. Try again in a few seconds.": (
        "El servicio no puede usar su base de datos en este momento. Inténtalo de nuevo en "
        "unos segundos."
    ),
    "Try again": "Reintentar",
    "Open": "Abrir",
    "Details": "Detalle",
    "Source": "Origen",
    "Metadata": "Metadatos",
    "Skipped lines (task already exists)": "Líneas omitidas (la tarea ya existe)",
    "Main navigation": "Navegación principal",
    "Skip to content": "Saltar al contenido",
    "Signed in as": "Sesión de",
    "Saved.": "Guardado.",
    "Deleted.": "Eliminado.",
    "Key revoked.": "Clave revocada.",
    "Task canceled.": "Tarea cancelada.",
    "Optional": "Opcional",
    "You do not have permission to do this": "No tienes permiso para hacer esto",
    "The form has expired or did not come from this site; please try again": (
        "El formulario expiró o no vino de este sitio; inténtalo de nuevo"
    ),
    "You are not a member of this tenant": "No perteneces a esta empresa",
    "Method not allowed": "Método no permitido",
    "Your account has no tenant; ask an administrator": (
        "Tu cuenta no pertenece a ninguna empresa; pídele acceso a un administrador"
    ),
    "optional": "opcional",
    # The person's own account: changing their password.
    "Account": "Cuenta",
    "Change password": "Cambiar contraseña",
    "Current password": "Contraseña actual",
    "Changing it closes every other session of yours (other browsers and apps); this one stays "
    "open.": (
        "Al cambiarla se cierran todas tus otras sesiones (otros navegadores y aplicaciones); esta "
        "sigue abierta."
    ),
    "Password changed. Your other sessions were closed.": (
        "Contraseña cambiada. Se cerraron tus otras sesiones."
    ),
    "is not your current password": "no es tu contraseña actual",
    "must be at least 8 characters": "debe tener al menos 8 caracteres",
    "must be at most 1024 characters": "debe tener como máximo 1024 caracteres",
    # Invitations: adding someone who already has an account, and the invitee's page.
    "Invitation": "Invitación",
    "Invitation created": "Invitación creada",
    "Invitation link": "Enlace de invitación",
    "Invitation revoked.": "Invitación revocada.",
    "Pending invitations": "Invitaciones pendientes",
    "invited": "invitado",
    "Accept": "Aceptar",
    "Decline": "Rechazar",
    "{email} already has an account: send them this link. They accept it signed in as "
    "themselves, and join as {role}.": (
        "{email} ya tiene una cuenta: envíale este enlace. Lo acepta con su propia sesión "
        "y entra como {role}."
    ),
    "This link is shown only once and works for 7 days.": (
        "Este enlace se muestra una sola vez y sirve durante 7 días."
    ),
    "Someone who already has an account is invited instead: the password and names are "
    "theirs, and are left as they are.": (
        "A quien ya tiene una cuenta se le envía una invitación: la contraseña y el nombre son "
        "suyos y no se cambian."
    ),
    "{tenant} invites you to join as {role}": "{tenant} te invita a unirte como {role}",
    "You declined the invitation to {tenant}.": "Rechazaste la invitación de {tenant}.",
    "This invitation link is invalid, expired or already used": (
        "Este enlace de invitación no es válido, venció o ya se usó"
    ),
    "This invitation is for another account": "Esta invitación es para otra cuenta",
    "Sign out, then sign in as the invited person and open the link again.": (
        "Cierra sesión, inicia sesión como la persona invitada y vuelve a abrir el enlace."
    ),
    "Ask whoever invited you for a new link.": "Pide un enlace nuevo a quien te invitó.",
    # The audit log.
    "Audit log": "Registro de auditoría",
    "Every change an administrator made, and every sign-in, newest first.": (
        "Cada cambio hecho por un administrador, y cada inicio de sesión, del más reciente al "
        "más antiguo."
    ),
    "Action": "Acción",
    "Who": "Quién",
    "Email or id": "Correo o id",
    "Address": "Dirección",
    "Target": "Objeto",
    "Changes": "Cambios",
    "Newest": "Más recientes",
    "Older": "Más antiguos",
    "You already belong to this tenant": "Ya perteneces a esta empresa",
    "This account also belongs to another tenant; only its owner can change it": (
        "Esta cuenta también pertenece a otra empresa; solo su dueño puede cambiarla"
    ),
    # Dispatch configs and deliveries.
    "Dispatch": "Despacho",
    "Provider": "Proveedor",
    "Endpoint": "Endpoint",
    "Auth header": "Cabecera de autenticación",
    "Auth header name": "Nombre de la cabecera de autenticación",
    "Auth header value": "Valor de la cabecera de autenticación",
    "Inactive": "Inactiva",
    "Send a test": "Enviar una prueba",
    "Deactivate": "Desactivar",
    "Activate": "Activar",
    "Config deactivated.": "Configuración desactivada.",
    "Config activated.": "Configuración activada.",
    "New dispatch config": "Nueva configuración de despacho",
    "required for WEBHOOK": "obligatorio para WEBHOOK",
    "Create config": "Crear configuración",
    "empty removes the header": "vacío quita la cabecera",
    "empty keeps the stored value": "vacío conserva el valor guardado",
    "Signing secret": "Secreto de firma",
    "This secret is shown only once. Copy it now.": (
        "Este secreto se muestra una sola vez. Cópialo ahora."
    ),
    "The previous secret also signs until": "El secreto anterior también firma hasta",
    "The old secret keeps signing for": "El secreto anterior sigue firmando durante",
    "no time": "nada",
    "Rotate the secret": "Rotar el secreto",
    "The endpoint accepted the test.": "El endpoint aceptó la prueba.",
    "The endpoint did not accept the test.": "El endpoint no aceptó la prueba.",
    "Test outcome": "Resultado de la prueba",
    "HTTP status": "Estado HTTP",
    "Duration": "Duración",
    "Error": "Error",
    "Response": "Respuesta",
    "Deliveries": "Envíos",
    "Task": "Tarea",
    "Attempts": "Intentos",
    "Last error": "Último error",
    "Next attempt": "Próximo intento",
    "Delivered": "Entregado",
    "Redeliver": "Reenviar",
    "Force retry": "Forzar reintento",
    "Delivery queued to be sent again.": "Envío en cola para reenviarse.",
    "Task queued to be pushed now.": "Tarea en cola para enviarse ahora.",
    # Event endpoints and their deliveries.
    "Event endpoints": "Endpoints de eventos",
    "Event endpoint": "Endpoint de eventos",
    "New event endpoint": "Nuevo endpoint de eventos",
    "It receives the events committed from now on, signed with its own secret (Standard "
    "Webhooks).": (
        "Recibe los eventos confirmados desde ahora, firmados con su propio secreto (Standard "
        "Webhooks)."
    ),
    "URL": "URL",
    "Event types": "Tipos de evento",
    "none checked: every type": "ninguno marcado: todos los tipos",
    "All types": "Todos los tipos",
    "Description": "Descripción",
    "Create endpoint": "Crear endpoint",
    "Enabled": "Habilitado",
    "Disabled": "Deshabilitado",
    "Enable": "Habilitar",
    "Disable": "Deshabilitar",
    "Failing since": "Fallando desde",
    "Endpoint enabled.": "Endpoint habilitado.",
    "Endpoint disabled.": "Endpoint deshabilitado.",
    "Endpoint deleted.": "Endpoint eliminado.",
    "Redeliver since": "Reenviar desde",
    "Every kept event of its types since": "Cada evento guardado de sus tipos desde",
    "Events queued to be sent again:": "Eventos en cola para reenviarse:",
    "Delete this endpoint and its delivery log? It receives no more events.": (
        "¿Eliminar este endpoint y su registro de envíos? No recibirá más eventos."
    ),
    "Event": "Evento",
    # Editing commerces, operators and people; deactivating and reactivating them.
    "Deactivated": "Desactivado",
    "Reactivate": "Reactivar",
    "Reactivated.": "Reactivado.",
    "Deactivated. Their sessions were closed.": "Desactivado. Se cerraron sus sesiones.",
    "A deactivated commerce keeps its tasks and results; a sync that names it activates it "
    "again.": (
        "Un comercio desactivado conserva sus tareas y resultados; una sincronización que lo "
        "incluya lo vuelve a activar."
    ),
    "A deactivated operator keeps their tasks and results; a sync that names them activates "
    "them again.": (
        "Un operador desactivado conserva sus tareas y resultados; una sincronización que lo "
        "incluya lo vuelve a activar."
    ),
}

MESSAGES: dict[str, dict[str, str]] = {"es": SPANISH, "en": {}}


def translator(language: str) -> Callable[[str], str]:
    """The page's ``t``: its own words from the table, else a service's error message by its
    template (:mod:`taskbridge.web.messages`), else the text as it is."""
    table = MESSAGES.get(language, SPANISH)
    if table is not SPANISH:
        return lambda text: table.get(text, text)
    return lambda text: table.get(text) or to_spanish(text) or text


def pick_language(*candidates: str | None) -> str:
    """The first candidate the panel speaks; Spanish otherwise."""
    for candidate in candidates:
        if candidate and candidate[:2].lower() in LANGUAGES:
            return candidate[:2].lower()
    return "es"
