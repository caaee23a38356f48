print("idaudit")
