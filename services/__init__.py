"""greentune services and the small runtime kernel they share (`services.runtime`)."""
