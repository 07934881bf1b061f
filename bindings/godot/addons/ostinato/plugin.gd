@tool
extends EditorPlugin
## Registers the OstinatoMusic node type with its icon (unless the project
## already lists it as a global class through its class_name).

var _added := false


func _enter_tree() -> void:
	for entry in ProjectSettings.get_global_class_list():
		if entry.get("class") == &"OstinatoMusic":
			return
	add_custom_type("OstinatoMusic", "Node", preload("ostinato_music.gd"), preload("icon.svg"))
	_added = true


func _exit_tree() -> void:
	if _added:
		remove_custom_type("OstinatoMusic")
