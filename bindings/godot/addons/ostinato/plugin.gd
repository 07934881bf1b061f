@tool
extends EditorPlugin
## Registers the OstinatoMusic (service) and OstinatoBakedMusic (baked pack) node types with
## their icon (unless the project already lists them as global classes through class_name).

const TYPES := {
	"OstinatoMusic": "ostinato_music.gd",
	"OstinatoBakedMusic": "ostinato_baked_music.gd",
}

var _added: Array[String] = []


func _enter_tree() -> void:
	var known := {}
	for entry in ProjectSettings.get_global_class_list():
		known[str(entry.get("class"))] = true
	for type_name in TYPES:
		if known.has(type_name):
			continue
		var script: Script = load("res://addons/ostinato/" + TYPES[type_name])
		add_custom_type(type_name, "Node", script, preload("icon.svg"))
		_added.append(type_name)


func _exit_tree() -> void:
	for type_name in _added:
		remove_custom_type(type_name)
	_added.clear()
